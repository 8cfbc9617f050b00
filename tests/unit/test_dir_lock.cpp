// util/dir_lock: one run per output folder, and a crashed holder never blocks.
#include "melon/util/dir_lock.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "melon/error.hpp"

namespace {
namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) {
  auto d = ::testing::TempDir() + "melon_lock_" + std::to_string(::getpid()) + "_" + name;
  fs::remove_all(d);
  return d;
}

std::string lock_error(const std::string& dir) {
  try {
    melon::DirLock again(dir);
  } catch (const melon::Error& e) {
    return e.what();
  }
  return "";
}

// A child that takes the lock, tells the parent, and waits to be killed.
pid_t child_holding(const std::string& dir) {
  int p[2];
  EXPECT_EQ(::pipe(p), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    try {
      melon::DirLock held(dir);
      char ok = 1;
      [[maybe_unused]] auto n = ::write(p[1], &ok, 1);
      for (;;) ::pause();
    } catch (...) {
      ::_exit(1);
    }
  }
  ::close(p[1]);
  char ok = 0;
  EXPECT_EQ(::read(p[0], &ok, 1), 1);
  ::close(p[0]);
  return pid;
}

TEST(DirLock, SecondLockInOneProcessIsRefusedNamingFolderAndHolder) {
  const auto dir = fresh_dir("same");
  melon::DirLock first(dir);
  const auto msg = lock_error(dir);
  EXPECT_NE(msg.find(dir + " is in use by another melon run"), std::string::npos) << msg;
  EXPECT_NE(msg.find("pid " + std::to_string(::getpid())), std::string::npos) << msg;
}

TEST(DirLock, LockHeldByAnotherProcessIsRefusedAndAKilledHolderDoesNotBlock) {
  const auto dir = fresh_dir("fork");
  const pid_t child = child_holding(dir);
  const auto msg = lock_error(dir);
  EXPECT_NE(msg.find("pid " + std::to_string(child)), std::string::npos) << msg;
  char host[256] = "";
  ::gethostname(host, sizeof host - 1);
  EXPECT_NE(msg.find(std::string("host ") + host), std::string::npos) << msg;
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  // The killed child's lock file is still there, and does not block.
  EXPECT_TRUE(fs::exists(dir + "/" + melon::DirLock::kFileName));
  EXPECT_NO_THROW(melon::DirLock after(dir));
  fs::remove_all(dir);
}

TEST(DirLock, ReleaseRemovesTheLockFileAndAFolderItCreatedWhileEmpty) {
  const auto dir = fresh_dir("made");
  { melon::DirLock l(dir); }
  EXPECT_FALSE(fs::exists(dir));
  fs::create_directories(dir);
  { melon::DirLock l(dir); }  // the user's own empty folder stays
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_TRUE(fs::is_empty(dir));
  { melon::DirLock l(dir, /*remove_if_empty=*/true); }  // a scratch folder goes
  EXPECT_FALSE(fs::exists(dir));
  {
    melon::DirLock l(dir, true);
    std::FILE* f = std::fopen((dir + "/kept").c_str(), "w");
    std::fclose(f);
  }
  EXPECT_TRUE(fs::exists(dir + "/kept"));
  EXPECT_FALSE(fs::exists(dir + "/" + melon::DirLock::kFileName));
  fs::remove_all(dir);
}

TEST(DirLock, AFileInThePlaceOfTheFolderIsAnError) {
  const auto dir = fresh_dir("file");
  std::FILE* f = std::fopen(dir.c_str(), "w");
  std::fclose(f);
  EXPECT_THROW(melon::DirLock l(dir), melon::Error);
  fs::remove(dir);
}

}  // namespace
