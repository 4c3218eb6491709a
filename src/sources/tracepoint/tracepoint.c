#include "sources/source.h"
