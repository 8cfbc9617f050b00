// melon hostinfo: where did the ranks land? Each rank reports its host name,
// process id, network namespace (the inode of /proc/self/ns/net), its
// interface addresses, the CPUs it may run on and the threads melon's stages
// would give it (mpi::threads_per_rank); rank 0 prints one line per rank and a
// summary, with the instruction sets the binary needs. Use it to check a
// multi-host launch (mpirun --hostfile, srun) and its binding before a long job.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "melon/cli/cli.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/isa.hpp"
#include "melon/util/thread_pool.hpp"

namespace melon::cli {
namespace {

// CPU numbers as ranges: "0-3,8".
std::string cpu_list(const std::vector<std::uint64_t>& cpus) {
  std::string out;
  const std::size_t n = cpus.size() * 64;
  auto on = [&](std::size_t c) { return c < n && (cpus[c / 64] >> (c % 64) & 1); };
  for (std::size_t c = 0; c < n; ++c) {
    if (!on(c)) continue;
    std::size_t e = c;
    while (on(e + 1)) ++e;
    out += (out.empty() ? "" : ",") + std::to_string(c) + (e > c ? "-" + std::to_string(e) : "");
    c = e;
  }
  return out.empty() ? "-" : out;
}

nlohmann::json describe_self(int sharers) {
  nlohmann::json j;
  const auto cpus = util::allowed_cpus();
  j["cpus"] = cpu_list(cpus);
  j["threads"] = util::resolve_threads(0, util::count_cpus(cpus), sharers);
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "?");
  j["rank"] = mpi::rank(mpi::world());
  j["size"] = mpi::size(mpi::world());
  j["host"] = host;
  j["pid"] = static_cast<long>(getpid());
  struct stat st {};
  j["netns"] = stat("/proc/self/ns/net", &st) == 0 ? static_cast<std::uint64_t>(st.st_ino) : 0;
  nlohmann::json addrs = nlohmann::json::array();
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* a = list; a; a = a->ifa_next) {
      if (!a->ifa_addr) continue;
      char buf[INET6_ADDRSTRLEN] = {0};
      const int fam = a->ifa_addr->sa_family;
      if (fam == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, buf, sizeof buf);
      else if (fam == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr, buf, sizeof buf);
      else continue;
      addrs.push_back({{"if", a->ifa_name}, {"addr", buf}, {"family", fam == AF_INET ? "inet" : "inet6"}});
    }
    freeifaddrs(list);
  }
  j["addrs"] = addrs;
  return j;
}

int run_hostinfo(int argc, char** argv) {
  po::options_description d(
      "melon hostinfo: every rank reports its host, pid, network namespace (inode of /proc/self/ns/net) and "
      "interface addresses, the CPUs it may run on and the threads a stage would give it (--threads 0); rank 0 prints "
      "them in rank order (checks a multi-host launch and its binding)");
  d.add_options()("json", po::bool_switch(), "print one JSON array (one object per rank) instead of lines")(
      "ipv6", po::bool_switch(), "also list IPv6 addresses in the line output");
  po::variables_map vm;
  if (!parse("hostinfo", d, argc, argv, vm)) return 0;
  const int sharers = mpi::cpu_sharers(mpi::world());
  const std::string all = mpi::gather_bytes(mpi::world(), describe_self(sharers).dump() + "\n");
  if (mpi::rank(mpi::world()) != 0) return 0;
  std::istringstream in(all);
  std::string line;
  nlohmann::json ranks = nlohmann::json::array();
  while (std::getline(in, line))
    if (!line.empty()) ranks.push_back(nlohmann::json::parse(line));
  if (vm["json"].as<bool>()) {
    std::cout << ranks.dump() << "\n" << std::flush;
    return 0;
  }
  std::set<std::string> hosts;
  std::set<std::uint64_t> namespaces;
  for (auto& r : ranks) {
    std::string addrs;
    for (auto& a : r["addrs"]) {
      if (a["family"] == "inet6" && !vm["ipv6"].as<bool>()) continue;
      addrs += (addrs.empty() ? "" : ",") + a["if"].get<std::string>() + ":" + a["addr"].get<std::string>();
    }
    std::cout << "rank " << r["rank"].get<int>() << "/" << r["size"].get<int>()
              << " host=" << r["host"].get<std::string>() << " pid=" << r["pid"].get<long>()
              << " netns=" << r["netns"].get<std::uint64_t>() << " addrs=" << (addrs.empty() ? "-" : addrs)
              << " cpus=" << r["cpus"].get<std::string>() << " threads=" << r["threads"].get<int>() << "\n";
    hosts.insert(r["host"].get<std::string>());
    namespaces.insert(r["netns"].get<std::uint64_t>());
  }
  std::cout << "hostinfo: " << ranks.size() << " ranks, " << hosts.size() << " host name(s), " << namespaces.size()
            << " network namespace(s)\n";
  // Every rank got here, so every rank's CPU has them: one without refuses at start.
  const auto isa = util::isa_target();
  std::cout << "hostinfo: the binary (built on " << util::isa_built_on() << ") needs "
            << (isa.empty() ? std::string("plain x86-64") : std::string(isa)) << "; every rank's CPU has them\n"
            << std::flush;
  return 0;
}

}  // namespace
MELON_COMMAND("hostinfo", "where the ranks run: host, pid, network namespace, addresses (checks a multi-host launch)",
              run_hostinfo);
}  // namespace melon::cli
