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

# --- What the package must find again ---------------------------------------
#
# capi/CMakeLists.txt compiles the core's object libraries into libtokenrail
# as objects ($<TARGET_OBJECTS:...>), so no build-tree target appears in its
# interface and install(EXPORT) needs nothing else in the export set. A
# static libtokenrail carries $<LINK_ONLY:...> on the imported targets of the
# external libraries it uses (TOKENRAIL_EXTERNAL_LIBS): the package config
# finds exactly those again and tokenrail.pc names them. Refuse to install
# a package that would miss one.
set(_tokenrail_known_external_libs
  Boost::json fmt::fmt libsodium::libsodium lmdb::lmdb Threads::Threads)
foreach(_lib IN LISTS TOKENRAIL_EXTERNAL_LIBS)
  if(NOT _lib IN_LIST _tokenrail_known_external_libs)
    message(FATAL_ERROR "libtokenrail links ${_lib}, which the installed package does not "
      "find again: add it to cmake/tokenrail-config.cmake.in (find_dependency), "
      "TOKENRAIL_PC_REQUIRES_PRIVATE / _LIBS_PRIVATE and _tokenrail_known_external_libs "
      "in cmake/TokenrailInstall.cmake")
  endif()
endforeach()
get_target_property(_tokenrail_iface_links tokenrail INTERFACE_LINK_LIBRARIES)
if(_tokenrail_iface_links AND _tokenrail_iface_links MATCHES "(^|[;:<])tokenrail_[a-z]+")
  message(FATAL_ERROR "tokenrail's INTERFACE_LINK_LIBRARIES names the build-tree module "
    "(${_tokenrail_iface_links}); link the modules' objects with "
    "$<TARGET_OBJECTS:...> so the installed target does not need them")
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
unset(_tokenrail_known_external_libs)
unset(_tokenrail_iface_links)
