#include "sources/tracepoint/plan.h"
