#include "sources/tracepoint/engine.h"
