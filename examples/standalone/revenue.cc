// The revenue job as a program: `revenue --data DIR --until-end --create-topics`, or --help for
// every option of `sluice run` (threads, state directory, describe, reset, a broker, ...).
#include "revenue_job.h"
#include "sluice/run_main.h"

int main(int argc, char** argv) { return sluice::RunMain(argc, argv, AddRevenue); }
