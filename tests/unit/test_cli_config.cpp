#include <gtest/gtest.h>

#include <fstream>

#include "melon/cli/cli.hpp"
#include "melon/error.hpp"

using namespace melon;

namespace {
// One file per test: CTest runs the tests of this binary as parallel processes.
std::string ini(const std::string& text) {
  std::string path = ::testing::TempDir() + "melon_test_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".ini";
  std::ofstream(path) << text;
  return path;
}

// Sections must name commands; the unit tests link no subcommand, so these
// stand in for them. "other" has options of its own, as a real command would.
int other_command(int argc, char** argv) {
  cli::po::options_description d;
  d.add_options()("other-key", cli::po::value<int>());
  cli::po::variables_map vm;
  if (!cli::parse("other", d, argc, argv, vm)) return 0;
  ADD_FAILURE() << "learning the options of 'other' ran it";
  return 1;
}
const bool registered = cli::register_command({"split", "test", nullptr}) &&
                        cli::register_command({"other", "test", other_command});

bool parse_args(std::vector<std::string> args, cli::po::options_description& d, cli::po::variables_map& vm) {
  args.insert(args.begin(), "test");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return cli::parse("split", d, static_cast<int>(argv.size()), argv.data(), vm);
}
}  // namespace

TEST(CliConfig, IniSectionFillsOptionsAndCommandLineWins) {
  auto path = ini("# job\nseed = 1\n[split]\nout = from_ini  # comment\nseed = 5\n[other]\nout = not_me\n");
  cli::po::options_description d;
  d.add_options()("out", cli::po::value<std::string>())("seed", cli::po::value<int>());
  cli::po::variables_map vm;
  ASSERT_TRUE(parse_args({"--config", path, "--seed", "9"}, d, vm));
  EXPECT_EQ(vm["out"].as<std::string>(), "from_ini");
  EXPECT_EQ(vm["seed"].as<int>(), 9);
}

TEST(CliConfig, UnknownKeyInCommandSectionIsAnError) {
  auto path = ini("[split]\nbogus = 1\n");
  cli::po::options_description d;
  d.add_options()("out", cli::po::value<std::string>());
  cli::po::variables_map vm;
  EXPECT_THROW(parse_args({"--config", path}, d, vm), Error);
}

TEST(CliConfig, ValuesAreDataNotCode) {
  auto path = ini("[split]\nout = $(rm -rf /tmp/x); `id`\n");
  cli::po::options_description d;
  d.add_options()("out", cli::po::value<std::string>());
  cli::po::variables_map vm;
  ASSERT_TRUE(parse_args({"--config", path}, d, vm));
  EXPECT_EQ(vm["out"].as<std::string>(), "$(rm -rf /tmp/x); `id`");
}

TEST(CliConfig, MalformedLinesAndMissingFilesAreNamed) {
  cli::po::options_description d;
  d.add_options()("out", cli::po::value<std::string>());
  cli::po::variables_map vm;
  try {
    parse_args({"--config", ini("[split]\nno equals sign\n")}, d, vm);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(":2: expected key = value"), std::string::npos) << e.what();
  }
  cli::po::variables_map vm2;
  EXPECT_THROW(parse_args({"--config", "/nonexistent.ini"}, d, vm2), Error);
}

TEST(CliConfig, HelpReturnsFalse) {
  cli::po::options_description d;
  cli::po::variables_map vm;
  testing::internal::CaptureStdout();
  EXPECT_FALSE(parse_args({"--help"}, d, vm));
  EXPECT_NE(testing::internal::GetCapturedStdout().find("--config"), std::string::npos);
}

namespace {
std::string parse_error(const std::string& text, cli::po::options_description& d) {
  cli::po::variables_map vm;
  try {
    parse_args({"--config", ini(text)}, d, vm);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(CliConfig, ADirectoryAsJobFileIsAnError) {
  cli::po::options_description d;
  cli::po::variables_map vm;
  try {
    parse_args({"--config", ::testing::TempDir()}, d, vm);
    FAIL() << "a directory was accepted as a job file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
}

TEST(CliConfig, AMisspeltSectionIsAnErrorNamingItsLine) {
  cli::po::options_description d;
  d.add_options()("seed", cli::po::value<int>());
  const auto msg = parse_error("# job\n[splitt]\nseed = 3\n", d);
  EXPECT_NE(msg.find(":2: unknown section [splitt]"), std::string::npos) << msg;
}

TEST(CliConfig, AByteOrderMarkIsSkipped) {
  cli::po::options_description d;
  d.add_options()("seed", cli::po::value<int>());
  cli::po::variables_map vm;
  ASSERT_TRUE(parse_args({"--config", ini("\xEF\xBB\xBF[split]\nseed = 4\n")}, d, vm));
  EXPECT_EQ(vm["seed"].as<int>(), 4);
}

TEST(CliConfig, AKeySetTwiceInOneSectionIsAnError) {
  cli::po::options_description d;
  d.add_options()("seed", cli::po::value<int>());
  const auto msg = parse_error("[split]\nseed = 1\nseed = 2\n", d);
  EXPECT_NE(msg.find(":3: key 'seed' is set twice in [split]"), std::string::npos) << msg;
  cli::po::variables_map vm;  // the same key in two sections is fine
  EXPECT_TRUE(parse_args({"--config", ini("seed = 1\n[split]\nseed = 2\n")}, d, vm));
  EXPECT_EQ(vm["seed"].as<int>(), 2);
}

TEST(CliConfig, ABadNumberNamesTheFileLineAndKey) {
  cli::po::options_description d;
  d.add_options()("seed", cli::po::value<int>());
  const auto msg = parse_error("[split]\n\nseed = five\n", d);
  EXPECT_NE(msg.find(".ini:3: key 'seed' = 'five'"), std::string::npos) << msg;
}

TEST(CliConfig, ANegativeValueForAnUnsignedOptionIsAnError) {
  cli::po::options_description d;
  d.add_options()("seed", cli::po::value<std::uint64_t>());
  const auto msg = parse_error("[split]\nseed = -1\n", d);
  EXPECT_NE(msg.find(":2: key 'seed': expected a number >= 0, got '-1'"), std::string::npos) << msg;
}

TEST(CliConfig, ATopLevelKeyOfAnotherCommandIsAccepted) {
  cli::po::options_description d;
  d.add_options()("seed", cli::po::value<int>());
  cli::po::variables_map vm;
  ASSERT_TRUE(parse_args({"--config", ini("other-key = 3\nseed = 2\n")}, d, vm));
  EXPECT_EQ(vm["seed"].as<int>(), 2);
  EXPECT_EQ(vm.count("other-key"), 0u);
}

TEST(CliConfig, ATopLevelKeyNoCommandKnowsIsAnErrorNamingFileLineAndKey) {
  cli::po::options_description d;
  d.add_options()("seed", cli::po::value<int>());
  const auto msg = parse_error("# job\nseed = 1\nsede = 2\n[split]\nseed = 3\n", d);
  EXPECT_NE(msg.find(".ini:3: unknown top-level key 'sede'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'seed'?"), std::string::npos) << msg;
  const auto far = parse_error("zzzzzzzz = 1\n", d);
  EXPECT_NE(far.find(":1: unknown top-level key 'zzzzzzzz'"), std::string::npos) << far;
  EXPECT_EQ(far.find("did you mean"), std::string::npos) << far;
}

TEST(CliConfig, AnUnknownKeyInTheCommandSectionNamesLineAndSuggestion) {
  cli::po::options_description d;
  d.add_options()("seed", cli::po::value<int>());
  const auto msg = parse_error("[split]\n\nsed = 3\n", d);
  EXPECT_NE(msg.find(":3: [split] has unknown option 'sed' (did you mean 'seed'?)"), std::string::npos) << msg;
}

TEST(CliConfig, TheCommandLineWinsOverBothLevelsOfTheFile) {
  cli::po::options_description d;
  d.add_options()("seed", cli::po::value<int>());
  cli::po::variables_map vm;
  ASSERT_TRUE(parse_args({"--config", ini("seed = 1\n[split]\nseed = 2\n"), "--seed=7"}, d, vm));
  EXPECT_EQ(vm["seed"].as<int>(), 7);
}
