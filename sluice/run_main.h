// RunMain for a user's job binary (link Sluice::app): the options and behaviour of `sluice run`.
// See tools/run_main.h.
#pragma once

#include "tools/run_main.h"
