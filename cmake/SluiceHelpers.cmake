# sluice_cc_library(NAME <name> SRCS <files...> DEPS <targets...>)
# Defines sluice_<name> with alias sluice::<name>; the repository root is the include root.
function(sluice_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(sluice_${ARG_NAME} ${ARG_SRCS})
  add_library(sluice::${ARG_NAME} ALIAS sluice_${ARG_NAME})
  target_include_directories(sluice_${ARG_NAME} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/sluice>)
  target_link_libraries(sluice_${ARG_NAME} PUBLIC ${ARG_DEPS})
  set_target_properties(sluice_${ARG_NAME} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

# sluice_cc_test(NAME <name> SRCS <files...> DEPS <targets...> [LABELS <labels...>])
# One GoogleTest binary; every TEST is a ctest test carrying LABELS (default: unit).
function(sluice_cc_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${ARG_NAME}
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    DISCOVERY_TIMEOUT 60)
endfunction()
