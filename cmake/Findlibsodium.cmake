# Findlibsodium: exposes libsodium::libsodium.
#
# Order: a CMake package config (Conan's CMakeDeps, vcpkg) first, then
# pkg-config (Debian's libsodium-dev), then a plain header/library search.
include(FindPackageHandleStandardArgs)

if(NOT TARGET libsodium::libsodium)
  find_package(libsodium CONFIG QUIET NO_MODULE)
endif()

if(NOT TARGET libsodium::libsodium)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(PC_LIBSODIUM QUIET libsodium)
  endif()
  find_path(libsodium_INCLUDE_DIR sodium.h HINTS ${PC_LIBSODIUM_INCLUDE_DIRS})
  find_library(libsodium_LIBRARY NAMES sodium libsodium HINTS ${PC_LIBSODIUM_LIBRARY_DIRS})
  set(libsodium_VERSION "${PC_LIBSODIUM_VERSION}")
  find_package_handle_standard_args(libsodium
    REQUIRED_VARS libsodium_LIBRARY libsodium_INCLUDE_DIR
    VERSION_VAR libsodium_VERSION)
  if(libsodium_FOUND)
    add_library(libsodium::libsodium UNKNOWN IMPORTED)
    set_target_properties(libsodium::libsodium PROPERTIES
      IMPORTED_LOCATION "${libsodium_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${libsodium_INCLUDE_DIR}")
  endif()
  mark_as_advanced(libsodium_INCLUDE_DIR libsodium_LIBRARY)
else()
  set(libsodium_FOUND TRUE)
endif()
