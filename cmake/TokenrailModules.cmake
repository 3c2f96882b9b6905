# The core is split into modules, one folder each under src/, so that a
# target (a test, a bench, the CLI) links exactly the modules it needs.
#
#   tokenrail_module(token USES core json crypto LIBS libsodium::libsodium)
#
# builds every .cpp of the calling folder into the object library
# tokenrail_<name>. tokenrail_link_modules(target token ...) links a target
# with those modules and, transitively, every module they use.

set(TOKENRAIL_WARNINGS -Wall -Wextra)
if(TOKENRAIL_WERROR)
  # -Wrestrict: GCC 12 at -O3 warns falsely inside libstdc++'s operator+
  # (GCC bug 105329); it stays a warning, not an error.
  list(APPEND TOKENRAIL_WARNINGS -Werror -Wno-error=deprecated-declarations -Wno-error=restrict)
  if(TOKENRAIL_SANITIZE)
    # With the sanitizers and optimization, GCC 12 reports false
    # -Wmaybe-uninitialized inside libstdc++'s std::regex (src/json/schema.cpp).
    list(APPEND TOKENRAIL_WARNINGS -Wno-error=maybe-uninitialized)
  endif()
endif()

function(tokenrail_module name)
  cmake_parse_arguments(ARG "" "" "USES;LIBS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/*.cpp")
  set(target tokenrail_${name})
  if(NOT sources)
    # A module still being written: keep the graph whole until it has sources.
    set(sources "${CMAKE_CURRENT_BINARY_DIR}/empty_module.cpp")
    file(WRITE "${sources}" "// no sources yet\n")
  endif()
  add_library(${target} OBJECT ${sources})
  target_compile_options(${target} PRIVATE ${TOKENRAIL_WARNINGS})
  target_compile_definitions(${target} PUBLIC TOKENRAIL_BUILDING_CORE)
  target_include_directories(${target} PUBLIC
    "${PROJECT_SOURCE_DIR}/include" "${PROJECT_SOURCE_DIR}/src")
  target_link_libraries(${target} PUBLIC Boost::json fmt::fmt Threads::Threads ${ARG_LIBS})
  foreach(use IN LISTS ARG_USES)
    target_link_libraries(${target} PUBLIC tokenrail_${use})
  endforeach()
  set_property(TARGET ${target} PROPERTY TOKENRAIL_USES "${ARG_USES}")
  set_property(GLOBAL APPEND PROPERTY TOKENRAIL_ALL_MODULES ${name})
endfunction()

# Every module reachable from the given ones, each once.
function(tokenrail_module_closure out)
  set(pending ${ARGN})
  set(seen "")
  while(pending)
    list(POP_FRONT pending m)
    if(m IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${m})
    get_property(uses TARGET tokenrail_${m} PROPERTY TOKENRAIL_USES)
    list(APPEND pending ${uses})
  endwhile()
  set(${out} "${seen}" PARENT_SCOPE)
endfunction()

function(tokenrail_link_modules target)
  tokenrail_module_closure(all ${ARGN})
  foreach(m IN LISTS all)
    # Linking an object library directly adds its objects; a module used
    # only transitively would contribute usage requirements, not objects.
    target_link_libraries(${target} PRIVATE tokenrail_${m})
  endforeach()
endfunction()
