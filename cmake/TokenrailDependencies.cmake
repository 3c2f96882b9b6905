# All third-party dependencies, found once for the whole tree. Each exposes a
# namespaced imported target; nothing is vendored (D1).
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS json)
find_package(fmt REQUIRED)
find_package(libsodium REQUIRED)   # cmake/Findlibsodium.cmake -> libsodium::libsodium
find_package(lmdb REQUIRED)        # cmake/Findlmdb.cmake      -> lmdb::lmdb
find_package(Threads REQUIRED)
