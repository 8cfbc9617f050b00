#pragma once
// A fresh folder (under /tmp unless told) for one test, removed with
// everything in it.
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace melon::test_support {

struct TempDir {
  std::string path;
  explicit TempDir(const std::string& name = "melon-test", const std::string& under = "/tmp") {
    std::string tmpl = under + "/" + name + ".XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl + " failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace melon::test_support
