"""Conan 2 recipe for tokenrail (D12).

    conan create . --build=missing

builds libtokenrail (the C ABI over the C++ core) with CMake and packages
the library, the C header <tokenrail.h> and the C++ headers
<tokenrail/...>. Consumers get the CMake target tokenrail::tokenrail
(find_package(tokenrail CONFIG)) or pkg-config's `tokenrail`.

The version ranges include Debian 12's packages, so a profile with
[platform_requires] can build against the system's libraries without any
remote: see tests/packaging/conan/profile and tests/packaging/conan/create.sh.
"""
import os
import re

from conan import ConanFile
from conan.tools.build import check_min_cppstd, stdcpp_library
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import load, rmdir

required_conan_version = ">=2.0"


class TokenrailConan(ConanFile):
    name = "tokenrail"
    description = "Embeddable engine for agent-driven workflows through opaque tokens (C ABI)"
    topics = ("workflow", "agents", "tokens", "embedded")
    package_type = "library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"shared": [True, False], "fPIC": [True, False]}
    default_options = {"shared": False, "fPIC": True}
    # Only what building the library needs: tests, benches and examples
    # are switched off in build().
    exports_sources = (
        "CMakeLists.txt",
        "cmake/*",
        "include/*",
        "src/*",
        "capi/*",
    )

    def set_version(self):
        # One version for everything: project(tokenrail VERSION x.y.z).
        text = load(self, os.path.join(self.recipe_folder, "CMakeLists.txt"))
        match = re.search(r"project\(\s*tokenrail\s+VERSION\s+([0-9][0-9.]*)", text)
        self.version = self.version or (match.group(1) if match else "0.1.0")

    def config_options(self):
        if self.settings.os == "Windows":
            del self.options.fPIC

    def configure(self):
        if self.options.shared:
            self.options.rm_safe("fPIC")

    def layout(self):
        cmake_layout(self)

    def requirements(self):
        # Ranges that Debian 12's packages satisfy (boost 1.81.0,
        # libsodium 1.0.18, lmdb 0.9.24, fmt 9.1.0).
        self.requires("boost/[>=1.81 <2]")
        self.requires("libsodium/[>=1.0.18 <2]")
        self.requires("lmdb/[>=0.9.24 <1]")
        self.requires("fmt/[>=9.1 <11]")

    def validate(self):
        check_min_cppstd(self, 20)

    def generate(self):
        tc = CMakeToolchain(self)
        tc.cache_variables["TOKENRAIL_BUILD_TESTS"] = False
        tc.cache_variables["TOKENRAIL_BUILD_BENCH"] = False
        tc.cache_variables["TOKENRAIL_BUILD_EXAMPLES"] = False
        tc.cache_variables["TOKENRAIL_INSTALL"] = True
        if self.settings.compiler == "gcc" and str(self.settings.compiler.version).split(".")[0] == "12":
            # GCC 12 at -O3 (Conan's Release) reports a false -Wrestrict in
            # libstdc++'s operator+(const char*, std::string&&) (GCC bug
            # 105329); the project builds with -Werror.
            tc.extra_cxxflags.append("-Wno-error=restrict")
        tc.generate()
        CMakeDeps(self).generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        cmake = CMake(self)
        cmake.install()
        # Conan generates the CMake config and the .pc file for consumers
        # from package_info(); the installed ones would compete with them.
        rmdir(self, os.path.join(self.package_folder, "lib", "cmake"))
        rmdir(self, os.path.join(self.package_folder, "lib", "pkgconfig"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "tokenrail")
        self.cpp_info.set_property("cmake_target_name", "tokenrail::tokenrail")
        self.cpp_info.set_property("pkg_config_name", "tokenrail")
        self.cpp_info.libs = ["tokenrail"]
        if not self.options.shared:
            # tokenrail.h declares the functions without import attributes.
            self.cpp_info.defines = ["TOKENRAIL_STATIC"]
            # C++ inside: a C program linking the archive needs the runtime.
            if self.settings.os in ("Linux", "FreeBSD"):
                self.cpp_info.system_libs = ["pthread", "m"]
            libcxx = stdcpp_library(self)
            if libcxx:
                self.cpp_info.system_libs.append(libcxx)
            # The archive needs its dependencies' libraries at link time.
            # Conan packages bring theirs through the requirements; a
            # dependency that a profile declares in [platform_requires] is
            # the system's, and Conan knows none of its libraries (it is not
            # among dependencies.host): name them here.
            conan_packages = {require.ref.name for require, _ in self.dependencies.host.items()}
            system_names = [("libsodium", "sodium"), ("lmdb", "lmdb"), ("fmt", "fmt"),
                            ("boost", "boost_json")]
            platform_libs = [lib for name, lib in system_names if name not in conan_packages]
            self.cpp_info.system_libs = platform_libs + self.cpp_info.system_libs
