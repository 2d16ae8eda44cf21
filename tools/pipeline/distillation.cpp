#include "tools/pipeline/distillation.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "sdkd/datasets/split.hpp"
#include "sdkd/distill/distiller.hpp"
#include "sdkd/models/config_json.hpp"
#include "sdkd/train/progress.hpp"
#include "tools/pipeline/presets.hpp"
#include "tools/pipeline/runtime.hpp"

namespace sdkd::tools {

namespace {
// Training windows the equal-energy bands and teacher-side projections are fitted on: enough
// for a stable spectrum, one teacher forward of a few hundred milliseconds at demo size.
constexpr size_t kFitWindows = 32;
}  // namespace

TrainedModel distill_from_preset(const nlohmann::json& preset, const data::SequenceDataset& ds,
                                 const std::vector<distill::TeacherModel>& teachers, const std::string& out_dir,
                                 bool resume) {
  const auto split = data::split_indices(ds.trajectories(), split_seed(preset));
  auto tcfg = train::TrainConfig::from_json(models::json_section(preset, "preset:", "train"));
  tcfg.out_dir = out_dir;
  tcfg.resume = resume;
  apply_run_log(tcfg);
  const auto kcfg = distill::KDConfig::from_json(models::json_section(preset, "preset:", "kd"));
  const auto mcfg = model_config_for(models::json_section(preset, "preset:", "model"), ds);
  Generator g(tcfg.seed);
  TrainedModel tm;
  tm.model = models::make_model(mcfg, g);
  tm.model->set_normalization(fit_normalization(preset, ds, split));
  place(*tm.model);
  // Adapters draw from their own stream so the student's initialisation is the same with
  // and without distillation (paired comparisons per seed).
  Generator ga(tcfg.seed ^ 0xADA7u);
  distill::Distiller d(kcfg, *tm.model, teachers, ga);
  if (d.needs_fit()) {
    // Projections and bands from the teachers' features on the first training windows in
    // split order: the same every time, a resumed run included.
    auto windows = ds.windows(train::training_trajectories(split, tcfg));
    windows.resize(std::min<size_t>(windows.size(), kFitWindows));
    d.fit(ds.batch(windows).first.to(tm.model->device()));
    for (size_t m = 0; m < teachers.size(); ++m)
      for (const auto& tap : kcfg.taps) {
        const std::string where = str_cat("teacher ", teachers[m].name, ", tap ", tap, " (", windows.size(),
                                          " training windows)");
        if (kcfg.adapter == distill::AdapterSide::teacher) {
          const auto& p = d.projection(m, tap);
          note(str_cat("teacher-side projection of ", where, ": ", p.weight.size(1), " -> ", p.weight.size(0),
                       " channels keeping ", train::format_number(100 * p.energy_kept, "%.1f"), " % of the feature energy"));
        }
        if (kcfg.equal_energy_bands && kcfg.method == distill::KDMethod::sdkd) {
          std::string cut;
          for (double c : d.cutoffs(m, tap)) cut += str_cat(cut.empty() ? "" : ", ", c);
          note(str_cat("equal-energy bands of ", where, ": cutoffs ", cut));
        }
      }
  }
  std::string names;
  for (const auto& t : teachers) names += (names.empty() ? "" : ", ") + t.name;
  note(str_cat("distilling ", mcfg.name, " (", tm.model->num_parameters(), " parameters) from ",
               names.empty() ? "no teacher" : names, " with ", distill::kd_method_name(kcfg.method), " (lambda ",
               kcfg.lambda, distill::levers_note(kcfg), ") on ", ds.name(), normalization_note(*tm.model)));
  tm.result = train::train_forecaster(*tm.model, ds, split, tcfg, d.hooks());
  return tm;
}

}  // namespace sdkd::tools
