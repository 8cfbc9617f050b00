// Training: the held-out score and the losses against steps, one line per run
// segment (a resume starts one), resumes and the best epoch marked; the
// refit's losses (train/refit.hpp: no held-out score, it trains on the slice)
// beside them when training wrote DIR/refit/curve.json.
#include <filesystem>
#include <map>
#include <tuple>

#include "melon/error.hpp"
#include "melon/report/svg.hpp"
#include "melon/train/curve.hpp"
#include "sections.hpp"

namespace melon::report {

namespace {

std::string segment_name(const train::CurvePoint& first) {
  return "run " + std::to_string(first.segment + 1) +
         (first.resumed_from >= 0 ? " (resumed at step " + std::to_string(first.resumed_from) + ")" : "");
}

}  // namespace

Section training_section(const ReportInputs& in) {
  const char* id = "training";
  const char* heading = "Training";
  const std::string path = in.checkpoint_dir + "/curve.json";
  if (!std::filesystem::exists(path))
    return unavailable(id, heading,
                       "no " + path +
                           " (no autoencoder was trained in this work folder, or it was trained by a melon "
                           "that did not record its curve)");
  std::vector<train::CurvePoint> c;
  try {
    c = train::read_curve(path);
  } catch (const Error& e) {
    return unavailable(id, heading, e.what());
  }
  if (c.empty()) return unavailable(id, heading, path + " holds no finished epoch");
  // A refit curve that does not read costs the page one line, not the section.
  const std::string refit_path = in.checkpoint_dir + "/refit/curve.json";
  std::vector<train::CurvePoint> refit;
  std::string refit_note;
  if (std::filesystem::exists(refit_path)) {
    try {
      refit = train::read_curve(refit_path);
      refit_note = " The refit's " + std::to_string(refit.size()) + " epochs (" + escape(refit_path) +
                   ") are drawn as \"refit\" on the loss plot and listed as run \"refit\".";
    } catch (const Error& e) {
      refit_note = " The refit's curve was not drawn: " + escape(e.what()) + ".";
    }
  }
  std::map<int, std::vector<const train::CurvePoint*>> seg;
  for (auto& p : c) seg[p.segment].push_back(&p);

  std::vector<Rule> resumes;
  for (auto& [s, v] : seg)
    if (v.front()->resumed_from >= 0)
      resumes.push_back(
          {static_cast<double>(v.front()->resumed_from), "resumed at step " + std::to_string(v.front()->resumed_from)});
  const train::CurvePoint* best = nullptr;
  for (auto& p : c)
    if (p.val_score >= 0 && (!best || p.val_score > best->val_score)) best = &p;

  std::string body = "<p class=\"note\">" + std::to_string(c.size()) + " epochs in " + std::to_string(seg.size()) +
                     " run segment" + (seg.size() == 1 ? "" : "s") + " (" + escape(path) + ")" +
                     (best ? "; best held-out score " + num(best->val_score, 5) + " at epoch " +
                                 std::to_string(best->epoch) + " (step " + std::to_string(best->step) +
                                 "), whose weights are kept as best.h5 (refit.h5, when written, is a second run on "
                                 "every training playlist for as many epochs, with no held-out score)"
                           : std::string("; no held-out playlists were scored")) +
                     "." + refit_note + "</p>\n";
  auto series = [&](double train::CurvePoint::*y, bool by_epoch, double scale, const std::string& suffix, bool dashed) {
    std::vector<Series> out;
    for (auto& [s, v] : seg) {
      Series ser;
      ser.name = segment_name(*v.front()) + suffix;
      ser.dashed = dashed;
      for (auto* p : v) {
        ser.x.push_back(static_cast<double>(by_epoch ? p->epoch : p->step));
        ser.y.push_back(p->*y * scale);
      }
      out.push_back(std::move(ser));
    }
    return out;
  };
  if (best) {
    LinePlot p;
    p.axes = {"Held-out score during training", "step", "held-out score (0.85 song + 0.15 tag nDCG)"};
    p.series = series(&train::CurvePoint::val_score, false, 1, "", false);
    p.rules = resumes;
    p.marks.push_back({static_cast<double>(best->step), best->val_score, "best: epoch " + std::to_string(best->epoch)});
    body += line_plot(p);
  }
  {
    LinePlot p;
    p.axes = {"Training loss", "step", "mean loss per example"};
    p.series = series(&train::CurvePoint::song_loss, false, 1, ": songs", false);
    auto tags = series(&train::CurvePoint::tag_loss, false, 1, ": tags", true);
    p.series.insert(p.series.end(), tags.begin(), tags.end());
    for (auto [y, suffix, dashed] : {std::tuple{&train::CurvePoint::song_loss, ": songs", false},
                                     std::tuple{&train::CurvePoint::tag_loss, ": tags", true}}) {
      if (refit.empty()) continue;
      Series ser;
      ser.name = std::string("refit") + suffix;
      ser.dashed = dashed;
      for (auto& q : refit) ser.x.push_back(static_cast<double>(q.step)), ser.y.push_back(q.*y);
      p.series.push_back(std::move(ser));
    }
    p.rules = resumes;
    body += line_plot(p);
  }
  {
    LinePlot p;
    p.axes = {"Training speed per epoch", "epoch", "steps per second"};
    p.series = series(&train::CurvePoint::steps_per_s, true, 1, "", false);
    p.y_from_zero = true;
    body += line_plot(p);
  }
  {
    LinePlot p;
    p.axes = {"Allreduce share of step time per epoch", "epoch", "allreduce share (%)"};
    p.series = series(&train::CurvePoint::allreduce_share, true, 100, "", false);
    p.y_from_zero = true;
    body += line_plot(p);
  }
  std::vector<std::vector<std::string>> rows;
  auto row = [&](const train::CurvePoint& p, const std::string& run) {
    rows.push_back({run, std::to_string(p.epoch), std::to_string(p.step), num(p.song_loss, 5), num(p.tag_loss, 5),
                    p.val_score >= 0 ? num(p.val_song, 5) : "-", p.val_score >= 0 ? num(p.val_tag, 5) : "-",
                    p.val_score >= 0 ? num(p.val_score, 5) : "-", num(p.steps_per_s, 4),
                    num(100 * p.allreduce_share, 3), p.resumed_from >= 0 ? std::to_string(p.resumed_from) : "-"});
  };
  for (auto& p : c) row(p, std::to_string(p.segment + 1));
  for (auto& p : refit) row(p, p.segment > 0 ? "refit, part " + std::to_string(p.segment + 1) : "refit");
  body += table({"run", "epoch", "step", "song loss", "tag loss", "held-out song nDCG", "held-out tag nDCG",
                 "held-out score", "steps/s", "allreduce %", "resumed from step"},
                rows);
  return {id, heading, body};
}

}  // namespace melon::report
