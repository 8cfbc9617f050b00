#pragma once
// Subcommand registry and option parsing shared by every `melon <command>`.
// Each command lives in src/cli/cmd_<name>.cpp and registers itself with
// MELON_COMMAND; options come from the command line and from an INI file
// (--config FILE): keys at the top of the file and in section [<command>]
// apply, and the command line wins.
#include <boost/program_options.hpp>
#include <functional>
#include <string>
#include <vector>

#include "melon/arena/types.hpp"

namespace melon::recommend {
struct ReferenceOptions;
}

namespace melon::cli {

namespace po = boost::program_options;

struct Command {
  std::string name;
  std::string summary;
  std::function<int(int argc, char** argv)> run;  // argv[0] is "melon <name>"
  // Reads files and writes one on a single rank, never talking to others
  // (evaluate, plan, split, report): started by hand it runs without MPI, so
  // it costs no Open MPI singleton daemon (about half a second) and works on a
  // login node that may not start one; under a launcher it starts MPI as
  // every command does and ranks other than 0 return at once.
  bool local = false;
};

bool register_command(Command c);
const Command* find_command(const std::string& name);
std::vector<const Command*> all_commands();

// Adds --help and --config, parses argv and the config file into vm.
// Returns false after printing help (the command should return 0).
// Throws melon::Error for unknown options or unreadable config files; in a
// job file, a key in [command] must be one of its options and a top-level key
// one of some command's (learnt by running every registered command with
// parse() in a mode that only records the names and returns false, so every
// command must build its options before doing any work). section: the job
// file's section to read when it is not [command] (`melon plan` reads the
// pipeline's).
bool parse(const std::string& command, po::options_description& desc, int argc, char** argv, po::variables_map& vm,
           const std::string& section = {});

// The INI as (key, value) pairs that apply to `command`: top-level keys and
// keys in [command]. Values are plain strings: nothing is evaluated.
std::vector<std::pair<std::string, std::string>> read_ini(const std::string& path, const std::string& command);
// Every key of the file, checked: a directory, a malformed line, an empty
// section name and a key set twice in one section are errors naming the line.
// A UTF-8 byte order mark at the start is skipped.
struct IniEntry {
  std::string section, key, value;  // section "" for top-level keys
  int line = 0, section_line = 0;
};
std::vector<IniEntry> read_ini(const std::string& path);

// Short text for a default in --help ("0.1", not "0.10000000000000001").
std::string num(double v);
// The reference recommenders' tuning options (baseline and rerank share them).
void add_reference_options(po::options_description& d, recommend::ReferenceOptions& o);

// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> split_list(const std::string& s);

// The inputs of a recommender command: --train, --questions and, when given,
// --song-meta (every song id of both files checked against it).
struct RecommendInputs {
  std::vector<arena::Playlist> train, questions;
  arena::SongMeta meta;
  bool has_meta = false;
  const arena::SongMeta* meta_ptr() const { return has_meta ? &meta : nullptr; }
};
RecommendInputs read_recommend_inputs(const po::variables_map& vm);

// Reads an "on|off|true|false|1|0" flag value.
bool parse_bool(const std::string& name, const std::string& value);

// Reads "auto" (-> if_auto) or a whole number >= min; `unit` (" of MiB")
// completes the refusal's wording.
std::int64_t parse_auto_or_count(const std::string& name, const std::string& value, std::int64_t min,
                                 std::int64_t if_auto, const std::string& unit = "");

}  // namespace melon::cli

#define MELON_CLI_CAT2(a, b) a##b
#define MELON_CLI_CAT(a, b) MELON_CLI_CAT2(a, b)
// __COUNTER__, not __LINE__: a unity build puts several commands in one
// translation unit, where two registrations may share a line number.
#define MELON_COMMAND(name, summary, fn)                 \
  static const bool MELON_CLI_CAT(melon_cmd_registered_, \
                                  __COUNTER__) = ::melon::cli::register_command({name, summary, fn})
#define MELON_LOCAL_COMMAND(name, summary, fn)           \
  static const bool MELON_CLI_CAT(melon_cmd_registered_, \
                                  __COUNTER__) = ::melon::cli::register_command({name, summary, fn, true})
