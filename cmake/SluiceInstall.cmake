# `cmake --install` puts the libraries, the headers (under include/sluice, so that
# `#include "core/log.h"` works as in the tree) and a CMake package so that another project can
# `find_package(Sluice)` and link `Sluice::sluice` (and `Sluice::app` for RunMain, a job binary
# with the options of `sluice run`). examples/standalone/ is such a project.
include(CMakePackageConfigHelpers)

set_target_properties(sluice_core PROPERTIES EXPORT_NAME core)
set_target_properties(sluice_operators PROPERTIES EXPORT_NAME operators)
set_target_properties(sluice_client PROPERTIES EXPORT_NAME client)
set_target_properties(sluice_runtime PROPERTIES EXPORT_NAME runtime)
set_target_properties(sluice_app PROPERTIES EXPORT_NAME app)
# RunMain serves the job's data directory while it runs: the Kafka-protocol server comes along.
set_target_properties(sluice_kafka_server PROPERTIES EXPORT_NAME kafka_server)
# RunMain's --metrics-listen serves Prometheus text over HTTP.
set_target_properties(sluice_metrics_http PROPERTIES EXPORT_NAME metrics_http)
set_target_properties(sluice_kafka_handler PROPERTIES EXPORT_NAME kafka_handler)
set_target_properties(sluice_kafka_auth PROPERTIES EXPORT_NAME kafka_auth)
set_target_properties(sluice_kafka_protocol PROPERTIES EXPORT_NAME kafka_protocol)
add_library(sluice_all INTERFACE)
set_target_properties(sluice_all PROPERTIES EXPORT_NAME sluice)
target_link_libraries(sluice_all INTERFACE sluice_core sluice_operators sluice_runtime)

install(TARGETS sluice_core sluice_client sluice_operators sluice_runtime sluice_all sluice_app
  sluice_metrics_http
  sluice_kafka_server sluice_kafka_handler sluice_kafka_auth sluice_kafka_protocol
  EXPORT SluiceTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY core client operators runtime server sluice
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sluice
  FILES_MATCHING PATTERN "*.h")
# Of tools/, only what sluice_app's headers need.
install(FILES tools/run_main.h tools/run_job.h tools/job_runner.h tools/commands.h tools/owner.h
  tools/time_parse.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sluice/tools)
install(EXPORT SluiceTargets NAMESPACE Sluice::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Sluice)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/SluiceConfig.cmake.in
  ${PROJECT_BINARY_DIR}/SluiceConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Sluice)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/SluiceConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/SluiceConfig.cmake ${PROJECT_BINARY_DIR}/SluiceConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Sluice)
