#pragma once
// Two kinds of failure, kept apart as in faiss:
//  - melon::Error: bad input or a failed system call. Thrown, caught at the
//    top of each subcommand, reported as one clear line, exit code 2.
//  - MELON_ASSERT: a broken internal invariant (a bug). Prints and aborts,
//    so under MPI the whole job goes down instead of waiting.
#include <sstream>
#include <stdexcept>
#include <string>

namespace melon {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const std::string& msg);

}  // namespace melon

// Throws melon::Error with a message built by streaming: MELON_CHECK(x > 0, "file " << f << ": bad x");
#define MELON_CHECK(cond, msg)                     \
  do {                                             \
    if (!(cond)) {                                 \
      std::ostringstream melon_check_os_;          \
      melon_check_os_ << msg;                      \
      throw ::melon::Error(melon_check_os_.str()); \
    }                                              \
  } while (0)

#define MELON_THROW(msg)                         \
  do {                                           \
    std::ostringstream melon_throw_os_;          \
    melon_throw_os_ << msg;                      \
    throw ::melon::Error(melon_throw_os_.str()); \
  } while (0)

#define MELON_ASSERT(cond, msg)                                                \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::ostringstream melon_assert_os_;                                     \
      melon_assert_os_ << msg;                                                 \
      ::melon::assert_fail(#cond, __FILE__, __LINE__, melon_assert_os_.str()); \
    }                                                                          \
  } while (0)
