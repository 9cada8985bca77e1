// The public API of Sluice in one include: the log (topics, producer, consumer, groups), the job
// DSL with its windows, joins and TestDriver, and the runtime that runs jobs exactly once.
#pragma once

#include "core/consumer.h"
#include "core/log.h"
#include "core/partitioner.h"
#include "core/producer.h"
#include "operators/dedup.h"
#include "operators/joins.h"
#include "operators/json_serde.h"
#include "operators/serde.h"
#include "operators/test_driver.h"
#include "operators/top_n.h"
#include "operators/topology_builder.h"
#include "operators/windows.h"
#include "runtime/job.h"
#include "runtime/job_options.h"
#include "runtime/job_reset.h"
