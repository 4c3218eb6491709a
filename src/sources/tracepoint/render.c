#include "sources/tracepoint/render.h"
