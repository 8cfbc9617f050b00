#include "melon/cli/cli.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "melon/arena/io.hpp"
#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/recommend/references.hpp"

namespace melon::cli {
namespace {
std::map<std::string, Command>& registry() {
  static std::map<std::string, Command> r;
  return r;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// A negative number given to an unsigned option would wrap to 2^64 - n.
bool is_unsigned(const po::option_description& o) {
  auto* sem = o.semantic().get();
  return dynamic_cast<const po::typed_value<unsigned>*>(sem) ||
         dynamic_cast<const po::typed_value<unsigned long>*>(sem) ||
         dynamic_cast<const po::typed_value<unsigned long long>*>(sem);
}

// While set, parse() only records the option names of the command that calls
// it and returns false (each command then returns 0 at once): the way to learn
// every command's options without a second list of them to keep in step.
thread_local std::set<std::string>* collecting = nullptr;

// Every option name of every registered command: a top-level key of a job
// file is shared by all commands, so it is a typo only if none knows it.
std::set<std::string> all_option_names() {
  std::set<std::string> names;
  auto* outer = collecting;
  collecting = &names;
  for (auto* c : all_commands()) {
    if (!c->run) continue;
    std::string arg0 = "melon " + c->name;
    char* argv[] = {arg0.data(), nullptr};
    try {
      c->run(1, argv);
    } catch (...) {
      collecting = outer;
      throw;
    }
  }
  collecting = outer;
  return names;
}

// Optimal string alignment distance: edits and swaps of neighbouring letters
// count one each, so a transposed typo ("sede") is nearer its word ("seed")
// than a word that merely shares letters ("mode").
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// " (did you mean 'seed'?)" when one name is close to the key.
std::string did_you_mean(const std::string& key, const std::set<std::string>& names) {
  std::string best;
  std::size_t best_d = 3;  // at most two edits away
  for (auto& n : names)
    if (auto d = edit_distance(key, n); d < best_d) best_d = d, best = n;
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

// Job-file keys as options: every [section] must name a melon command and
// every key of this command's section must be one of its options; top-level
// keys apply to the commands that know them. Errors name the file and line.
void store_config(const std::string& path, const std::string& command, const po::options_description& all,
                  po::variables_map& vm) {
  std::set<std::string> known;
  for (auto& o : all.options()) known.insert(o->long_name());
  std::set<std::string> others;  // every command's options, learnt only when needed
  auto entries = read_ini(path);
  // The command's own section before the top-level keys: the first value
  // stored wins, so [command] overrides the top (and the command line both).
  std::stable_partition(entries.begin(), entries.end(), [](const IniEntry& e) { return !e.section.empty(); });
  for (auto& e : entries) {
    const std::string where = "config " + path + ":" + std::to_string(e.line) + ": ";
    if (!e.section.empty() && !find_command(e.section)) {
      const std::string at = "config " + path + ":" + std::to_string(e.section_line) + ": ";
      std::string names;
      for (auto* c : all_commands()) names += (names.empty() ? "" : ", ") + c->name;
      MELON_THROW(at << "unknown section [" << e.section << "] (sections are melon commands: " << names << ")");
    }
    if (!e.section.empty() && e.section != command) continue;
    if (!known.count(e.key)) {
      MELON_CHECK(e.section.empty(),
                  where << "[" << command << "] has unknown option '" << e.key << "'" << did_you_mean(e.key, known));
      if (others.empty()) {
        others = all_option_names();
        others.insert(known.begin(), known.end());
      }
      MELON_CHECK(others.count(e.key), where << "unknown top-level key '" << e.key
                                             << "': no melon command has an option '" << e.key << "'"
                                             << did_you_mean(e.key, others));
      continue;  // a top-level key for another command
    }
    if (e.key == "config" || e.key == "help") continue;
    const auto& opt = all.find(e.key, false);
    MELON_CHECK(!(is_unsigned(opt) && !e.value.empty() && e.value[0] == '-'),
                where << "key '" << e.key << "': expected a number >= 0, got '" << e.value << "'");
    std::string arg = "--" + e.key + "=" + e.value;
    char* argv[] = {const_cast<char*>("melon"), arg.data()};
    try {
      po::store(po::command_line_parser(2, argv).options(all).run(), vm);
    } catch (const po::error& err) {
      MELON_THROW(where << "key '" << e.key << "' = '" << e.value << "': " << err.what());
    }
  }
}

}  // namespace

bool register_command(Command c) {
  auto name = c.name;
  registry().emplace(name, std::move(c));
  return true;
}

const Command* find_command(const std::string& name) {
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : &it->second;
}

std::vector<const Command*> all_commands() {
  std::vector<const Command*> v;
  for (auto& [k, c] : registry()) v.push_back(&c);
  return v;
}

std::vector<IniEntry> read_ini(const std::string& path) {
  MELON_CHECK(!std::filesystem::is_directory(path), "config " << path << ": is a directory, not a job file");
  std::ifstream in(path);
  MELON_CHECK(in, "config " << path << ": cannot open");
  std::vector<IniEntry> out;
  std::set<std::pair<std::string, std::string>> seen;
  std::string line, section;
  int lineno = 0, section_line = 0;
  while (std::getline(in, line)) {
    ++lineno;
    // Editors on some systems start UTF-8 files with a byte order mark.
    if (lineno == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t[0] == '[') {
      MELON_CHECK(t.back() == ']', "config " << path << ":" << lineno << ": malformed section header '" << t << "'");
      section = trim(t.substr(1, t.size() - 2));
      section_line = lineno;
      MELON_CHECK(!section.empty(), "config " << path << ":" << lineno << ": empty section name");
      continue;
    }
    auto eq = t.find('=');
    MELON_CHECK(eq != std::string::npos,
                "config " << path << ":" << lineno << ": expected key = value, got '" << t << "'");
    std::string key = trim(t.substr(0, eq)), value = trim(t.substr(eq + 1));
    MELON_CHECK(!key.empty(), "config " << path << ":" << lineno << ": empty key");
    // Inline comments after a value: " # ..." (values never need a spaced #).
    auto hash = value.find(" #");
    if (hash != std::string::npos) value = trim(value.substr(0, hash));
    MELON_CHECK(seen.insert({section, key}).second,
                "config " << path << ":" << lineno << ": key '" << key << "' is set twice"
                          << (section.empty() ? " at the top level" : " in [" + section + "]"));
    out.push_back({section, key, value, lineno, section_line});
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> read_ini(const std::string& path, const std::string& command) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& e : read_ini(path))
    if (e.section.empty() || e.section == command) out.emplace_back(e.key, e.value);
  return out;
}

bool parse_bool(const std::string& name, const std::string& v) {
  if (v == "on" || v == "true" || v == "1" || v == "yes") return true;
  if (v == "off" || v == "false" || v == "0" || v == "no") return false;
  MELON_THROW("option --" << name << ": expected on|off, got '" << v << "'");
}

std::int64_t parse_auto_or_count(const std::string& name, const std::string& v, std::int64_t min, std::int64_t if_auto,
                                 const std::string& unit) {
  if (v == "auto") return if_auto;
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  MELON_CHECK(!v.empty() && used == v.size() && n >= min, "option --" << name << ": expected auto or a whole number"
                                                                      << unit << " >= " << min << ", got '" << v
                                                                      << "'");
  return n;
}

bool parse(const std::string& command, po::options_description& desc, int argc, char** argv, po::variables_map& vm,
           const std::string& section_name) {
  const std::string& section = section_name.empty() ? command : section_name;
  po::options_description common("common options");
  const std::string config_help = "INI file: top-level keys and [" + section + "] keys set options";
  common.add_options()("help,h", "show this help")("config", po::value<std::string>(), config_help.c_str())(
      "stall-timeout", po::value<double>()->default_value(mpi::stall_timeout(), num(mpi::stall_timeout())),
      "seconds a rank may wait in one collective before the job is ended naming the ranks that did not arrive (0: "
      "never)");
  po::options_description all;
  all.add(desc).add(common);
  if (collecting) {
    for (auto& o : all.options()) collecting->insert(o->long_name());
    return false;
  }
  try {
    po::store(po::command_line_parser(argc, argv).options(all).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: melon " << command << " [options]\n\n" << all << "\n";
      return false;
    }
    if (vm.count("config")) store_config(vm["config"].as<std::string>(), section, all, vm);
    po::notify(vm);
    // Only when given: a pipeline's value carries over to the stages it runs.
    if (!vm["stall-timeout"].defaulted()) mpi::set_stall_timeout(vm["stall-timeout"].as<double>());
  } catch (const po::error& e) {
    MELON_THROW("melon " << command << ": " << e.what() << " (see melon " << command << " --help)");
  }
  return true;
}

// Short text for a default in --help ("0.1", not "0.10000000000000001").
std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

void add_reference_options(po::options_description& d, recommend::ReferenceOptions& o) {
  d.add_options()("tag-weight", po::value<double>(&o.tag_weight)->default_value(o.tag_weight, num(o.tag_weight)),
                  "item-knn/playlist-knn/ease/mixture: weight of a shown tag relative to a shown song")(
      "title-weight", po::value<double>(&o.title_weight)->default_value(o.title_weight, num(o.title_weight)),
      "weight of a title token (questions without songs only; 0: ignore titles)")(
      "alpha", po::value<double>(&o.alpha)->default_value(o.alpha, num(o.alpha)),
      "item-knn: damping exponent on the question item's count")(
      "beta", po::value<double>(&o.beta)->default_value(o.beta, num(o.beta)),
      "item-knn: damping exponent on the candidate's count")(
      "neighbours", po::value<std::int64_t>(&o.neighbours)->default_value(o.neighbours),
      "playlist-knn: neighbour playlists K")("power", po::value<double>(&o.power)->default_value(o.power, num(o.power)),
                                             "playlist-knn: a neighbour votes similarity^power")(
      "ease-songs", po::value<std::int64_t>(&o.ease_songs)->default_value(o.ease_songs),
      "ease: the most frequent songs as columns")("ease-tags",
                                                  po::value<std::int64_t>(&o.ease_tags)->default_value(o.ease_tags),
                                                  "ease: the most frequent tags as columns")(
      "ease-tokens", po::value<std::int64_t>(&o.ease_tokens)->default_value(o.ease_tokens),
      "ease: the most frequent title tokens as (input-only) columns")(
      "ease-lambda", po::value<double>(&o.ease_lambda)->default_value(o.ease_lambda, num(o.ease_lambda)),
      "ease: L2 penalty lambda")("mixture-clusters",
                                 po::value<std::int64_t>(&o.mixture_clusters)->default_value(o.mixture_clusters),
                                 "mixture: clusters K")(
      "mixture-iterations", po::value<std::int64_t>(&o.mixture_iterations)->default_value(o.mixture_iterations),
      "mixture: EM iterations");
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

RecommendInputs read_recommend_inputs(const po::variables_map& vm) {
  RecommendInputs in;
  const auto train_path = vm["train"].as<std::string>(), q_path = vm["questions"].as<std::string>();
  in.train = arena::read_playlists(train_path);
  in.questions = arena::read_playlists(q_path);
  if (vm.count("song-meta")) {
    in.meta = arena::read_song_meta(vm["song-meta"].as<std::string>());
    in.has_meta = true;
    arena::check_song_ids(in.train, in.meta.size(), train_path);
    arena::check_song_ids(in.questions, in.meta.size(), q_path);
  }
  return in;
}

}  // namespace melon::cli
