# Install rules and package files for libtokenrail (D12).
#
#   cmake --install <build> --prefix <prefix>
#
# puts into <prefix>:
#   include/tokenrail.h                      the C ABI (consumers: #include <tokenrail.h>)
#   include/tokenrail/...                    the C++ core headers
#   lib/libtokenrail.so.<ver> (+ SOVERSION and dev symlinks) or lib/libtokenrail.a
#   lib/cmake/tokenrail/                     tokenrail-config.cmake, -config-version.cmake,
#                                            -targets*.cmake (tokenrail::tokenrail) and the
#                                            find modules a static build's consumers need
#   lib/pkgconfig/tokenrail.pc
#
# Included by the top CMakeLists.txt after capi/ (where the target
# `tokenrail` is made) when TOKENRAIL_INSTALL is ON.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

if(NOT TARGET tokenrail)
  message(STATUS "tokenrail: no library target (capi/ not built yet): no install rules")
  return()
endif()

set(TOKENRAIL_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/tokenrail")
get_target_property(_tokenrail_type tokenrail TYPE)

# --- Make the target exportable ---------------------------------------------
#
# libtokenrail is made of the core's OBJECT libraries (tokenrail_core,
# tokenrail_json, ...; see TokenrailModules.cmake) linked straight into it.
# For a static library CMake records them in INTERFACE_LINK_LIBRARIES as
# $<LINK_ONLY:tokenrail_core>, and install(EXPORT) refuses targets that name
# build-tree targets outside the export set. Their objects are already inside
# libtokenrail.a, so installed consumers need only what those objects use:
# the third-party libraries. Below, every module entry is fenced with
# $<BUILD_INTERFACE:...> (in-tree consumers see no change) and the modules'
# external libraries are added as link-only dependencies in their place.
# Include directories given as plain build-tree paths are fenced the same way
# (the installed ones come from INCLUDES DESTINATION below). Entries already
# written with $<BUILD_INTERFACE:...> don't match and are left as they are.

# Every module object library linked into `tokenrail`, and what they link.
set(_tokenrail_modules "")
set(_tokenrail_external_libs "")
get_target_property(_tokenrail_links tokenrail LINK_LIBRARIES)
if(_tokenrail_links)
  set(_pending ${_tokenrail_links})
  while(_pending)
    list(POP_FRONT _pending _lib)
    if(_lib MATCHES "^tokenrail_[A-Za-z0-9_]+$" AND TARGET "${_lib}")
      if(NOT _lib IN_LIST _tokenrail_modules)
        list(APPEND _tokenrail_modules "${_lib}")
        get_target_property(_uses "${_lib}" INTERFACE_LINK_LIBRARIES)
        if(_uses)
          list(APPEND _pending ${_uses})
        endif()
      endif()
    elseif(_lib MATCHES "::" AND NOT _lib MATCHES "^tokenrail::")
      list(APPEND _tokenrail_external_libs "${_lib}")
    endif()
  endwhile()
endif()
list(REMOVE_DUPLICATES _tokenrail_external_libs)

get_target_property(_iface_links tokenrail INTERFACE_LINK_LIBRARIES)
set(_fenced_links "")
if(_iface_links)
  foreach(_lib IN LISTS _iface_links)
    if(_lib MATCHES "^\\$<LINK_ONLY:(tokenrail_[A-Za-z0-9_]+)>$")
      list(APPEND _fenced_links "$<BUILD_INTERFACE:$<LINK_ONLY:${CMAKE_MATCH_1}>>")
    elseif(_lib MATCHES "^tokenrail_[A-Za-z0-9_]+$")
      list(APPEND _fenced_links "$<BUILD_INTERFACE:${_lib}>")
    else()
      list(APPEND _fenced_links "${_lib}")
    endif()
  endforeach()
endif()
if(_tokenrail_type STREQUAL "STATIC_LIBRARY")
  foreach(_lib IN LISTS _tokenrail_external_libs)
    list(APPEND _fenced_links "$<LINK_ONLY:${_lib}>")
  endforeach()
  # (The C++ runtime needs no entry: the export records CXX as the archive's
  # link language, so CMake links even a C consumer with the C++ driver.)
endif()
list(REMOVE_DUPLICATES _fenced_links)
set_property(TARGET tokenrail PROPERTY INTERFACE_LINK_LIBRARIES "${_fenced_links}")

get_target_property(_iface_includes tokenrail INTERFACE_INCLUDE_DIRECTORIES)
if(_iface_includes)
  set(_fenced_includes "")
  foreach(_dir IN LISTS _iface_includes)
    if(IS_ABSOLUTE "${_dir}" AND NOT _dir MATCHES "^\\$<")
      list(APPEND _fenced_includes "$<BUILD_INTERFACE:${_dir}>")
    else()
      list(APPEND _fenced_includes "${_dir}")
    endif()
  endforeach()
  set_property(TARGET tokenrail PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${_fenced_includes}")
endif()

# --- Library, headers, exported targets --------------------------------------

install(TARGETS tokenrail
  EXPORT tokenrail-targets
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Runtime
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Runtime
          NAMELINK_COMPONENT Development
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Development
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

# The C ABI header(s) go to the top of include/, so consumers write
# #include <tokenrail.h> with nothing but -I<prefix>/include.
file(GLOB _tokenrail_c_headers "${PROJECT_SOURCE_DIR}/capi/*.h")
file(GLOB _tokenrail_c_generated "${PROJECT_BINARY_DIR}/capi/*.h")
install(FILES ${_tokenrail_c_headers} ${_tokenrail_c_generated}
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT Development)

# The header-first C++ core (include/tokenrail/<module>/...).
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/tokenrail"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT Development
  FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")

install(EXPORT tokenrail-targets
  NAMESPACE tokenrail::
  DESTINATION "${TOKENRAIL_CMAKE_INSTALL_DIR}"
  COMPONENT Development)

# --- CMake package config ------------------------------------------------------

if(_tokenrail_type STREQUAL "STATIC_LIBRARY")
  set(TOKENRAIL_PACKAGE_STATIC ON)
else()
  set(TOKENRAIL_PACKAGE_STATIC OFF)
endif()
set(TOKENRAIL_PACKAGE_BOOST_VERSION "1.81")

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/tokenrail-config.cmake.in"
  "${PROJECT_BINARY_DIR}/package/tokenrail-config.cmake"
  INSTALL_DESTINATION "${TOKENRAIL_CMAKE_INSTALL_DIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/package/tokenrail-config-version.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/package/tokenrail-config.cmake"
  "${PROJECT_BINARY_DIR}/package/tokenrail-config-version.cmake"
  # Used by the config file (static builds) to find the dependencies again.
  "${PROJECT_SOURCE_DIR}/cmake/Findlibsodium.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/Findlmdb.cmake"
  DESTINATION "${TOKENRAIL_CMAKE_INSTALL_DIR}"
  COMPONENT Development)

# --- pkg-config ----------------------------------------------------------------

# Relocatable: prefix is found from the .pc file's own place, so the tree
# can be moved (Conan packages, `cmake --install --prefix`).
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(TOKENRAIL_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(TOKENRAIL_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(TOKENRAIL_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH _pc_up "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
  string(REGEX REPLACE "/$" "" _pc_up "${_pc_up}")
  set(TOKENRAIL_PC_PREFIX "\${pcfiledir}/${_pc_up}")
  set(TOKENRAIL_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(TOKENRAIL_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
if(TOKENRAIL_PACKAGE_STATIC)
  # Boost.JSON ships no .pc file: it is named in Libs.private.
  set(TOKENRAIL_PC_REQUIRES_PRIVATE "libsodium lmdb fmt")
  set(TOKENRAIL_PC_LIBS_PRIVATE "-lboost_json -lstdc++ -lm -pthread")
  # tokenrail.h declares the functions without import attributes then.
  set(TOKENRAIL_PC_CFLAGS " -DTOKENRAIL_STATIC")
else()
  set(TOKENRAIL_PC_CFLAGS "")
  set(TOKENRAIL_PC_REQUIRES_PRIVATE "")
  set(TOKENRAIL_PC_LIBS_PRIVATE "")
endif()
configure_file("${CMAKE_CURRENT_LIST_DIR}/tokenrail.pc.in"
  "${PROJECT_BINARY_DIR}/package/tokenrail.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/package/tokenrail.pc"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
  COMPONENT Development)

unset(_tokenrail_type)
unset(_tokenrail_links)
unset(_tokenrail_modules)
unset(_tokenrail_external_libs)
unset(_iface_links)
unset(_iface_includes)
unset(_fenced_links)
unset(_fenced_includes)
