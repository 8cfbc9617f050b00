#include "melon/train/curve.hpp"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "melon/error.hpp"
#include "melon/train/trainer.hpp"
#include "melon/util/atomic_file.hpp"
#include "melon/util/log.hpp"

namespace melon::train {

namespace {

nlohmann::json to_json(const CurvePoint& p) {
  return {{"segment", p.segment},
          {"resumed_from", p.resumed_from},
          {"step", p.step},
          {"epoch", p.epoch},
          {"song_loss", p.song_loss},
          {"tag_loss", p.tag_loss},
          {"val_song", p.val_song},
          {"val_tag", p.val_tag},
          {"val_score", p.val_score},
          {"steps_per_s", p.steps_per_s},
          {"allreduce_share", p.allreduce_share}};
}

}  // namespace

CurvePoint curve_point(const EpochReport& rep, std::int64_t step, std::int64_t resumed_from, std::int64_t steps,
                       double seconds, double reduce_s, double step_s) {
  CurvePoint p;
  p.resumed_from = resumed_from;
  p.step = step;
  p.epoch = rep.epoch;
  p.song_loss = rep.song_loss;
  p.tag_loss = rep.tag_loss;
  p.val_song = rep.val_song;
  p.val_tag = rep.val_tag;
  p.val_score = rep.val_score;
  p.steps_per_s = seconds > 0 ? static_cast<double>(steps) / seconds : 0;
  p.allreduce_share = step_s > 0 ? reduce_s / step_s : 0;
  return p;
}

std::vector<CurvePoint> read_curve(const std::string& path) {
  std::ifstream in(path);
  MELON_CHECK(in, path << ": cannot open");
  std::vector<CurvePoint> out;
  try {
    const auto j = nlohmann::json::parse(in);
    for (auto& r : j.at("epochs")) {
      CurvePoint p;
      p.segment = r.at("segment").get<int>();
      p.resumed_from = r.at("resumed_from").get<std::int64_t>();
      p.step = r.at("step").get<std::int64_t>();
      p.epoch = r.at("epoch").get<std::int64_t>();
      p.song_loss = r.at("song_loss").get<double>();
      p.tag_loss = r.at("tag_loss").get<double>();
      p.val_song = r.at("val_song").get<double>();
      p.val_tag = r.at("val_tag").get<double>();
      p.val_score = r.at("val_score").get<double>();
      p.steps_per_s = r.at("steps_per_s").get<double>();
      p.allreduce_share = r.at("allreduce_share").get<double>();
      out.push_back(p);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not a training curve: " + e.what());
  }
  return out;
}

void append_curve(const std::string& dir, CurvePoint p) {
  const std::string path = dir + "/curve.json";
  try {
    std::vector<CurvePoint> old;
    if (std::filesystem::exists(path)) {
      try {
        old = read_curve(path);
      } catch (const Error& e) {
        log::warn(std::string(e.what()) + ": starting the curve afresh");
      }
    }
    // Same process as the last record: same start and a later step. Anything
    // else is a new run, which continues from the records up to its start.
    const bool same_run = !old.empty() && old.back().resumed_from == p.resumed_from && p.step > old.back().step;
    if (same_run) {
      p.segment = old.back().segment;
    } else {
      const std::int64_t start = std::max<std::int64_t>(0, p.resumed_from);
      while (!old.empty() && (p.resumed_from < 0 || old.back().step > start)) old.pop_back();
      p.segment = old.empty() ? 0 : old.back().segment + 1;
    }
    old.push_back(p);
    nlohmann::json j;
    j["epochs"] = nlohmann::json::array();
    for (auto& r : old) j["epochs"].push_back(to_json(r));
    AtomicFile f(path);
    f.write(j.dump(1) + "\n");
    f.commit();
  } catch (const std::exception& e) {
    log::warn(path + ": training curve not written: " + e.what());
  }
}

}  // namespace melon::train
