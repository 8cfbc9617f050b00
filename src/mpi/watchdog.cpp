#include "watchdog.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"

namespace melon::mpi {
namespace {
using Clock = std::chrono::steady_clock;

// Spinning first keeps a short collective (a training step's allreduce) as
// fast as MPI_Allreduce; past this, polls are spaced by a sleep that grows
// with the wait (at most 2% of it, at most 2 ms), so a rank held up by a slow
// or stopped peer no longer burns a core.
constexpr double kSpinSeconds = 0.02;
constexpr double kMaxSleepSeconds = 0.002;
// How long a rank that timed out collects the others' answers. Ranks waiting
// in a collective answer within a poll, so this only needs to cover a sleep.
constexpr double kGraceSeconds = 2.0;
constexpr int kNoteTag = 7;

std::atomic<double> g_timeout{600};  // read by the blocking-call thread too
std::string g_stage;
std::vector<std::string> g_activities;
std::uint64_t g_seq = 0;
MPI_Comm g_notes = MPI_COMM_NULL;  // a duplicate of MPI_COMM_WORLD, only for notes

struct Peer {
  long pid;
  char host[64];
};
std::vector<Peer> g_peers;  // by world rank

// "I waited past the timeout in collective #seq" (ask) or the answer of a rank
// that is waiting in a collective too (reply).
enum : int { kAsk = 1, kReply = 2 };
struct Note {
  int kind;
  int pad;
  std::uint64_t seq;
  double waited;
  char what[48];
  char stage[112];
};
// Notes go out with MPI_Isend and are never waited for (the job is about to
// end), so their buffers live as long as the process.
std::deque<Note> g_sent;

// Waits are timed in the time this process ran, not by the wall clock: a gap
// between two polls longer than this means the process itself was stopped (a
// rank hit by SIGSTOP and continued by mpirun just before it is killed, or a
// whole job suspended by `scontrol suspend`), and must not count as waiting
// for the others, or every rank would report a stall the moment it resumes.
constexpr double kMaxPollGapSeconds = 0.5;

// Seconds this process has run since the timer was made, counted at each tick().
struct LiveTimer {
  Clock::time_point last = Clock::now();
  double live = 0;
  double tick() {
    const auto now = Clock::now();
    live += std::min(std::chrono::duration<double>(now - last).count(), kMaxPollGapSeconds);
    last = now;
    return live;
  }
};

void nap(double seconds) {
  timespec ts{0, static_cast<long>(seconds * 1e9)};
  nanosleep(&ts, nullptr);
}

void send_note(int to, int kind, std::uint64_t seq, double waited, const char* what) {
  Note& n = g_sent.emplace_back();
  std::memset(&n, 0, sizeof n);
  n.kind = kind;
  n.seq = seq;
  n.waited = waited;
  std::snprintf(n.what, sizeof n.what, "%s", what);
  std::snprintf(n.stage, sizeof n.stage, "%s", stage().c_str());
  MPI_Request r;
  if (MPI_Isend(&n, sizeof n, MPI_BYTE, to, kNoteTag, g_notes, &r) == MPI_SUCCESS) MPI_Request_free(&r);
}

// Takes in every note that has arrived (world rank -> its latest note) and
// answers each ask with where this rank waits.
void serve_notes(std::map<int, Note>& heard, std::uint64_t seq, double waited, const char* what) {
  for (;;) {
    int flag = 0;
    MPI_Status st;
    if (MPI_Iprobe(MPI_ANY_SOURCE, kNoteTag, g_notes, &flag, &st) != MPI_SUCCESS || !flag) return;
    Note n;
    if (MPI_Recv(&n, sizeof n, MPI_BYTE, st.MPI_SOURCE, kNoteTag, g_notes, MPI_STATUS_IGNORE) != MPI_SUCCESS) return;
    n.what[sizeof n.what - 1] = n.stage[sizeof n.stage - 1] = '\0';
    auto [it, fresh] = heard.try_emplace(st.MPI_SOURCE, n);
    if (!fresh && it->second.kind != kAsk) it->second = n;
    if (n.kind == kAsk) send_note(st.MPI_SOURCE, kReply, seq, waited, what);
  }
}

// World ranks of comm's members, in comm's rank order.
std::vector<int> world_ranks(MPI_Comm comm) {
  int p = 0;
  MPI_Comm_size(comm, &p);
  std::vector<int> mine(p), world(p);
  for (int i = 0; i < p; ++i) mine[i] = i;
  MPI_Group g, w;
  MPI_Comm_group(comm, &g);
  MPI_Comm_group(MPI_COMM_WORLD, &w);
  MPI_Group_translate_ranks(g, p, mine.data(), w, world.data());
  MPI_Group_free(&g);
  MPI_Group_free(&w);
  return world;
}

std::string who(int r) {
  std::string s = "rank " + std::to_string(r);
  if (r >= 0 && static_cast<std::size_t>(r) < g_peers.size())
    s += " (pid " + std::to_string(g_peers[r].pid) + " on " + g_peers[r].host + ")";
  return s;
}

std::string fmt_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

[[noreturn]] void report_stall(int me, const std::vector<int>& members, const std::map<int, Note>& heard,
                               std::uint64_t seq, double waited, const char* what) {
  std::string missing, others;
  for (int r : members) {
    if (r == me) continue;
    auto it = heard.find(r);
    if (it == heard.end()) {
      missing += (missing.empty() ? "" : ", ") + who(r);
      continue;
    }
    const Note& n = it->second;
    others += (others.empty() ? "" : ", ") + std::string("rank ") + std::to_string(r) + " in #" +
              std::to_string(n.seq) + " (" + n.what + ")";
    if (n.stage != stage()) others += std::string(" during '") + n.stage + "'";
  }
  std::string msg = "stall watchdog: rank " + std::to_string(me) + " waited " + fmt_seconds(waited) +
                    " in collective #" + std::to_string(seq) + " (" + what + ") during '" + stage() + "'; ";
  if (g_notes == MPI_COMM_NULL) msg += "the other ranks could not be asked";
  else if (missing.empty()) msg += "every rank answered, so the collective itself is stuck";
  else msg += "did not arrive (no answer within " + fmt_seconds(kGraceSeconds) + "): " + missing;
  if (!others.empty()) msg += "; waiting: " + others;
  char limit[32];
  std::snprintf(limit, sizeof limit, "%g", g_timeout.load());
  msg += std::string("; ending the job (--stall-timeout ") + limit + ")";
  std::fprintf(stderr, "[melon r%d] melon %s: error: %s\n", me, g_stage.empty() ? "?" : g_stage.c_str(), msg.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 2);
  std::_Exit(2);
}

// ---- blocking calls (BlockingWatch): timed by a thread ----
// The main thread writes what/stage/seq, then `since` (release); the thread
// reads `since` (acquire), then the rest. Only the thread calls MPI_Abort,
// and only when the main thread cannot return from MPI any more.
std::atomic<std::int64_t> g_block_since{0};  // steady-clock ns; 0: not in a blocking call
char g_block_what[48], g_block_stage[112];
std::uint64_t g_block_seq = 0;
std::atomic<bool> g_thread_stop{false};
int g_me = 0;  // this process's world rank

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// A process on this host in state T/t (stopped, traced): the usual reason a
// rank never leaves a collective it entered.
bool is_stopped(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && (text[close + 2] == 'T' || text[close + 2] == 't');
}

[[noreturn]] void report_blocked(double waited) {
  const int me = g_me;
  char host[64] = "";
  gethostname(host, sizeof host - 1);
  std::string stopped;
  for (std::size_t r = 0; r < g_peers.size(); ++r)
    if (static_cast<int>(r) != me && std::strcmp(g_peers[r].host, host) == 0 && is_stopped(g_peers[r].pid))
      stopped += (stopped.empty() ? "" : ", ") + who(static_cast<int>(r)) + " is stopped";
  std::string msg = "stall watchdog: rank " + std::to_string(me) + " waited " + fmt_seconds(waited) +
                    " in collective #" + std::to_string(g_block_seq) + " (" + g_block_what + ") during '" +
                    g_block_stage + "', which every rank had entered; ";
  msg += stopped.empty() ? "did not arrive at its end: not known (no rank on this host is stopped)"
                         : "did not arrive at its end: " + stopped;
  char limit[32];
  std::snprintf(limit, sizeof limit, "%g", g_timeout.load());
  msg += std::string("; ending the job (--stall-timeout ") + limit + ")";
  std::fprintf(stderr, "[melon r%d] melon %s: error: %s\n", me, g_block_stage, msg.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 2);
  std::_Exit(2);
}

void watch_blocking_calls() {
  std::int64_t watching = 0;  // the g_block_since of the call being timed
  LiveTimer timer;
  while (!g_thread_stop.load()) {
    nap(0.1);
    const auto since = g_block_since.load(std::memory_order_acquire);
    const double timeout = g_timeout.load();
    if (since != watching) {
      // A new call (or none): its time starts at its own entry, at most one
      // poll ago, and counts from there in live time.
      watching = since;
      timer = LiveTimer{};
      if (since != 0) timer.live = std::clamp(static_cast<double>(now_ns() - since) * 1e-9, 0.0, kMaxPollGapSeconds);
    }
    if (since == 0 || timeout <= 0) continue;
    const double waited = timer.tick();
    if (waited > timeout) report_blocked(waited);
  }
}

}  // namespace

void set_stall_timeout(double seconds) {
  MELON_CHECK(std::isfinite(seconds) && seconds >= 0,
              "--stall-timeout: expected seconds >= 0 (0: no watchdog), got " << seconds);
  g_timeout = seconds;
}
double stall_timeout() { return g_timeout; }

void set_stage(const std::string& label) { g_stage = label; }
std::string stage() {
  std::string s = g_stage;
  for (auto& a : g_activities) s += (s.empty() ? "" : " > ") + a;
  return s;
}
Activity::Activity(std::string label) { g_activities.push_back(std::move(label)); }
Activity::~Activity() { g_activities.pop_back(); }

namespace detail {

void start_watchdog() {
  if (size(MPI_COMM_WORLD) < 2 || g_notes != MPI_COMM_NULL) return;
  check(MPI_Comm_dup(MPI_COMM_WORLD, &g_notes), "MPI_Comm_dup");
  Peer me{};
  me.pid = static_cast<long>(getpid());
  gethostname(me.host, sizeof me.host - 1);
  g_peers.resize(static_cast<std::size_t>(size(MPI_COMM_WORLD)));
  check(MPI_Allgather(&me, sizeof me, MPI_BYTE, g_peers.data(), sizeof me, MPI_BYTE, MPI_COMM_WORLD),
        "MPI_Allgather(watchdog)");
  g_me = rank(MPI_COMM_WORLD);
  // Detached: a job ended by MPI_Abort or exit() must not wait for it (nor
  // meet a joinable std::thread at exit, which terminates).
  std::thread(watch_blocking_calls).detach();
}

void stop_watchdog() {
  g_thread_stop = true;
  if (g_notes != MPI_COMM_NULL) MPI_Comm_free(&g_notes);
}

std::uint64_t next_seq() { return ++g_seq; }

BlockingWatch::BlockingWatch(const char* what) {
  std::snprintf(g_block_what, sizeof g_block_what, "%s", what);
  std::snprintf(g_block_stage, sizeof g_block_stage, "%s", stage().c_str());
  g_block_seq = g_seq;
  g_block_since.store(now_ns(), std::memory_order_release);
}
BlockingWatch::~BlockingWatch() { g_block_since.store(0, std::memory_order_release); }

void wait_all(MPI_Comm comm, MPI_Request* reqs, int n, std::uint64_t seq, const char* what) {
  int done = 0;
  check(MPI_Testall(n, reqs, &done, MPI_STATUSES_IGNORE), what);
  if (done) return;
  LiveTimer timer;
  std::map<int, Note> heard;
  std::vector<int> members;
  double asked_at = -1;
  for (;;) {
    double waited = timer.tick();
    if (waited > kSpinSeconds) {
      nap(std::clamp(waited / 50, 5e-5, kMaxSleepSeconds));
      waited = timer.tick();
      if (g_notes != MPI_COMM_NULL) serve_notes(heard, seq, waited, what);
    }
    check(MPI_Testall(n, reqs, &done, MPI_STATUSES_IGNORE), what);
    if (done) return;
    if (g_timeout <= 0 || waited <= g_timeout) continue;
    const int me = rank(MPI_COMM_WORLD);
    if (asked_at < 0) {
      members = world_ranks(comm);
      if (g_notes != MPI_COMM_NULL)
        for (int r : members)
          if (r != me) send_note(r, kAsk, seq, waited, what);
      asked_at = waited;
    }
    if (g_notes != MPI_COMM_NULL && waited < asked_at + kGraceSeconds) continue;
    // Two ranks that time out together: the lower one reports, so the job
    // ends with one message; the others report only if it never does.
    bool lower_reports = false;
    for (auto& [r, note] : heard) lower_reports |= note.kind == kAsk && r < me;
    if (lower_reports && waited < asked_at + 4 * kGraceSeconds) continue;
    report_stall(me, members, heard, seq, waited, what);
  }
}

}  // namespace detail
}  // namespace melon::mpi
