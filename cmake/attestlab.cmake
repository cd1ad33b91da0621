# Shared helpers: warnings for project code and one macro a module.
add_library(attestlab_warnings INTERFACE)
target_compile_options(attestlab_warnings INTERFACE -Wall -Wextra -Werror)
# C++20 designated initializers name only the fields that differ from their defaults
# (`DeviceFacts{.serial = "…", .udid = "…"}`); GCC's -Wextra would flag every omitted
# field, clang does not.
target_compile_options(attestlab_warnings INTERFACE -Wno-missing-field-initializers)
# GCC 12 at -O3 reports false positives inside libstdc++'s inlined std::string code
# (GCC bugs 105329, 105651: -Wrestrict / -Wstringop-overflow on operator+). Keep them as
# warnings there, never as errors; every other warning stays an error.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(attestlab_warnings INTERFACE
    -Wno-error=restrict -Wno-error=stringop-overflow -Wno-error=array-bounds
    -Wno-error=stringop-overread -Wno-error=maybe-uninitialized)
endif()
if(ATTESTLAB_FAULTS)
  add_compile_definitions(ATTESTLAB_FAULTS=1)
endif()

# Build time (CI builds three trees from nothing on 2 cores). Every translation unit of the
# project parsed nlohmann/json (~0.9 s of g++'s front end) and every test GoogleTest (~0.7 s)
# again: they are precompiled once for the libraries (by attestlab_core, the first of them)
# and once for the tests (by core_tests), and every other target reuses one of the two; a
# target that names headers of its own (the cli: CLI11, ~1.5 s a file) precompiles its own.
# Tests and the fault variants (a test build's attestlab-faults) are compiled at -O1 in
# optimized builds: the code the tests measure keeps the build type's -O3.
# Keep every file's own #include lines complete: the tsan tree builds without the
# precompiled headers and fails on a missing one.
option(ATTESTLAB_PCH "Precompile nlohmann/json, GoogleTest and common std headers" ON)
set(ATTESTLAB_PCH_HEADERS <nlohmann/json.hpp> <string> <string_view> <vector> <map> <memory>
  <optional> <functional> <chrono> <cstdint>)
# attestlab_build_options(TARGET [TEST] [FAULTS_OF ORIGINAL] [OWN_PCH HEADER...])
function(attestlab_build_options target)
  cmake_parse_arguments(arg "TEST" "FAULTS_OF" "OWN_PCH" ${ARGN})
  if(ATTESTLAB_PCH)
    set(host attestlab_core)
    if(arg_TEST)
      set(host core_tests)
    elseif(arg_FAULTS_OF)
      get_target_property(original_own ${arg_FAULTS_OF} PRECOMPILE_HEADERS)
      if(original_own)
        set(host ${arg_FAULTS_OF})
      endif()
    endif()
    if(target STREQUAL host OR arg_OWN_PCH)
      set(headers ${ATTESTLAB_PCH_HEADERS} ${arg_OWN_PCH})
      if(arg_TEST)
        list(APPEND headers <gtest/gtest.h>)
      endif()
      target_precompile_headers(${target} PRIVATE ${headers})
    else()
      target_precompile_headers(${target} REUSE_FROM ${host})
    endif()
  endif()
  if((arg_TEST OR arg_FAULTS_OF) AND CMAKE_BUILD_TYPE MATCHES "^(Release|RelWithDebInfo)$")
    target_compile_options(${target} PRIVATE -O1)
  endif()
endfunction()

# attestlab_faults_variant(NAME): with ATTESTLAB_FAULTS_VARIANT (a test build's second
# executable, attestlab-faults), a copy of library attestlab_NAME compiled with
# ATTESTLAB_FAULTS=1 and linked to the fault variants of its server dependencies. Only the
# server's rooms and the cli read server/faults.h, so only they are compiled twice; the
# shipped `attestlab` never links a variant.
function(attestlab_faults_variant name)
  if(NOT ATTESTLAB_FAULTS_VARIANT OR ATTESTLAB_FAULTS)
    return()
  endif()
  get_target_property(srcs attestlab_${name} SOURCES)
  get_target_property(deps attestlab_${name} LINK_LIBRARIES)
  set(variant_deps "")
  foreach(dep ${deps})
    if(TARGET ${dep}_faults)
      list(APPEND variant_deps ${dep}_faults)
    elseif(NOT dep STREQUAL "attestlab_warnings")
      list(APPEND variant_deps ${dep})
    endif()
  endforeach()
  add_library(attestlab_${name}_faults STATIC ${srcs})
  attestlab_build_options(attestlab_${name}_faults FAULTS_OF attestlab_${name})
  target_include_directories(attestlab_${name}_faults PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_definitions(attestlab_${name}_faults PUBLIC ATTESTLAB_FAULTS=1)
  get_target_property(defs attestlab_${name} COMPILE_DEFINITIONS)
  if(defs)
    target_compile_definitions(attestlab_${name}_faults PRIVATE ${defs})
  endif()
  target_link_libraries(attestlab_${name}_faults PUBLIC ${variant_deps} PRIVATE attestlab_warnings)
endfunction()

# attestlab_module(NAME DIR DEPS...)
#   Every *.cpp in the folder except *_test.cpp forms the static library attestlab_NAME;
#   every *_test.cpp forms the GoogleTest binary NAME_tests, registered with ctest.
function(attestlab_module name)
  set(deps ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  list(FILTER srcs EXCLUDE REGEX "_test\\.cpp$")
  if(srcs)
    add_library(attestlab_${name} STATIC ${srcs})
    attestlab_build_options(attestlab_${name})
    target_include_directories(attestlab_${name} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(attestlab_${name} PUBLIC ${deps} PRIVATE attestlab_warnings)
  else()  # a module with headers only (so far)
    add_library(attestlab_${name} INTERFACE)
    target_include_directories(attestlab_${name} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(attestlab_${name} INTERFACE ${deps})
  endif()
  if(ATTESTLAB_TESTS)
    file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cpp)
    if(tests)
      add_executable(${name}_tests ${tests})
      attestlab_build_options(${name}_tests TEST)
      target_link_libraries(${name}_tests PRIVATE attestlab_${name} GTest::gtest_main attestlab_warnings)
      target_compile_definitions(${name}_tests PRIVATE
        ATTESTLAB_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
      gtest_discover_tests(${name}_tests DISCOVERY_MODE PRE_TEST
        PROPERTIES LABELS unit TIMEOUT 120)
    endif()
  endif()
endfunction()
