#pragma once
// Where a JSON text first breaks the grammar (RFC 8259), for error messages.
// simdjson's On-Demand parser reports most syntax errors without a usable
// position (a truncated file said "near byte 0, line 1"), so on the error path
// only the text is scanned again by this small strict checker.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace melon::arena::detail {

struct JsonFault {
  std::size_t offset = 0, line = 1, column = 1;  // line and column 1-based, column in bytes
  std::string problem;                           // "invalid UTF-8", "the file ends", "trailing content", ...
  std::int64_t record = -1;                      // element of the top-level array/object holding it
  std::optional<std::int64_t> id;                // that record's "id" when readable
  std::string note;                              // said after the position
};

// The first fault of `text`, or nothing when it is one valid JSON document.
std::optional<JsonFault> locate_json_fault(std::string_view text);

// "byte N, line L, column C" of an offset into `text`.
std::string position_of(std::string_view text, std::size_t offset);

}  // namespace melon::arena::detail
