# Findlmdb: exposes lmdb::lmdb.
#
# Order: a CMake package config (Conan's CMakeDeps) first, then pkg-config
# (Debian's liblmdb-dev ships lmdb.pc), then a plain header/library search.
include(FindPackageHandleStandardArgs)

if(NOT TARGET lmdb::lmdb)
  find_package(lmdb CONFIG QUIET NO_MODULE)
endif()

if(NOT TARGET lmdb::lmdb)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(PC_LMDB QUIET lmdb)
  endif()
  find_path(lmdb_INCLUDE_DIR lmdb.h HINTS ${PC_LMDB_INCLUDE_DIRS})
  find_library(lmdb_LIBRARY NAMES lmdb liblmdb HINTS ${PC_LMDB_LIBRARY_DIRS})
  set(lmdb_VERSION "${PC_LMDB_VERSION}")
  find_package_handle_standard_args(lmdb
    REQUIRED_VARS lmdb_LIBRARY lmdb_INCLUDE_DIR
    VERSION_VAR lmdb_VERSION)
  if(lmdb_FOUND)
    add_library(lmdb::lmdb UNKNOWN IMPORTED)
    set_target_properties(lmdb::lmdb PROPERTIES
      IMPORTED_LOCATION "${lmdb_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${lmdb_INCLUDE_DIR}")
  endif()
  mark_as_advanced(lmdb_INCLUDE_DIR lmdb_LIBRARY)
else()
  set(lmdb_FOUND TRUE)
endif()
