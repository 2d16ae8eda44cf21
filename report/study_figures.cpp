#include "report/study_figures.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "report/svg_plot.hpp"
#include "sdkd/error.hpp"

namespace sdkd::report {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

LineSeries band_series(const std::string& name, const SeedBand& b, double x0, double x_step, size_t from = 0,
                       size_t to = SIZE_MAX) {
  LineSeries s;
  s.name = name;
  to = std::min(to, b.mean.size());
  for (size_t i = from; i < to; ++i) {
    s.xs.push_back(x0 + x_step * double(i - from));
    s.ys.push_back(b.mean[i]);
    s.lo.push_back(b.lo[i]);
    s.hi.push_back(b.hi[i]);
  }
  return s;
}

const SeedCurves* find_run(const std::vector<SeedCurves>& runs, const std::string& name) {
  for (const auto& r : runs)
    if (r.name == name) return &r;
  return nullptr;
}

std::string seeds_note(const std::vector<SeedCurves>& runs) {
  size_t lo = SIZE_MAX, hi = 0;
  for (const auto& r : runs)
    if (r.paired) lo = std::min(lo, r.curves.size()), hi = std::max(hi, r.curves.size());
  if (hi == 0) return "no student seeds";
  const std::string n = lo == hi ? std::to_string(hi) : std::to_string(lo) + " to " + std::to_string(hi);
  return "students: mean over " + n + (hi == 1 ? " seed" : " seeds");
}

// The difference panel: every paired run but the reference, against the reference.
PlotPanel change_panel(const std::vector<SeedCurves>& runs, const SeedCurves& ref, const std::string& y_label,
                       double x0, size_t from, size_t to) {
  PlotPanel p;
  p.y_label = y_label;
  p.zero_line = true;
  p.height = 200;
  for (const auto& r : runs)
    if (r.paired && r.name != ref.name) p.series.push_back(band_series(r.name, paired_change(r, ref), x0, 1, from, to));
  return p;
}

// A figure over wavenumber shells (log x) whose top panel is on log y: the spectrum and the
// band-error figures.
PlotFigure shell_figure(const std::string& title, const std::string& top_label, PlotPanel& top) {
  PlotFigure fig;
  fig.title = title;
  fig.x_label = "wavenumber shell k = round(|k|)";
  fig.log_x = true;
  top.y_label = top_label;
  top.log_y = true;
  top.height = 300;
  return fig;
}

}  // namespace

SeedBand seed_band(const std::vector<std::vector<double>>& curves) {
  SeedBand b;
  if (curves.empty()) return b;
  const size_t n = curves.front().size();
  for (const auto& c : curves)
    SDKD_CHECK(c.size() == n, "seed_band: curves of ", n, " and ", c.size(), " points");
  b.seeds = curves.size();
  b.mean.assign(n, 0.0);
  b.lo.assign(n, INFINITY);
  b.hi.assign(n, -INFINITY);
  for (const auto& c : curves)
    for (size_t i = 0; i < n; ++i) {
      b.mean[i] += c[i] / double(curves.size());
      b.lo[i] = std::min(b.lo[i], c[i]);
      b.hi[i] = std::max(b.hi[i], c[i]);
    }
  return b;
}

SeedBand paired_change(const SeedCurves& run, const SeedCurves& reference) {
  std::vector<std::vector<double>> changes;
  for (size_t i = 0; i < run.seeds.size(); ++i)
    for (size_t j = 0; j < reference.seeds.size(); ++j) {
      if (run.seeds[i] != reference.seeds[j]) continue;
      const auto& c = run.curves[i];
      const auto& r = reference.curves[j];
      SDKD_CHECK(c.size() == r.size(), "paired_change: '", run.name, "' has ", c.size(), " points, '",
                 reference.name, "' ", r.size());
      std::vector<double> d(c.size());
      for (size_t k = 0; k < c.size(); ++k) d[k] = r[k] != 0 ? 100.0 * (c[k] / r[k] - 1.0) : kNaN;
      changes.push_back(d);
    }
  return seed_band(changes);
}

void write_lead_time_figure(const std::string& path, const std::vector<SeedCurves>& runs, const std::string& reference,
                            const std::string& metric) {
  PlotFigure fig;
  fig.title = metric + " per lead time (test split)";
  fig.x_label = "lead time (frames after the last input frame)";
  PlotPanel top;
  top.y_label = metric;
  top.height = 300;
  for (const auto& r : runs) top.series.push_back(band_series(r.name, seed_band(r.curves), 1, 1));
  fig.panels.push_back(top);
  fig.notes.push_back("Top: " + seeds_note(runs) + ", band: min to max over the seeds; teachers and baselines run once.");
  if (const SeedCurves* ref = find_run(runs, reference)) {
    fig.panels.push_back(change_panel(runs, *ref, "change vs " + reference + " (%)", 1, 0, SIZE_MAX));
    fig.notes.push_back("Bottom: 100 (run / " + reference + " - 1) per seed (same seed = same initial weights),");
    fig.notes.push_back("mean and min to max over the seeds; below the dashed zero line the run beats " + reference + ".");
  }
  write_svg_plot(path, fig);
}

void write_spectrum_figure(const std::string& path, const std::vector<double>& truth,
                           const std::vector<SeedCurves>& runs, const std::string& reference, int k_max) {
  const size_t shells = truth.size();
  const size_t last = k_max > 0 ? std::min<size_t>(size_t(k_max), shells == 0 ? 0 : shells - 1)
                                : (shells == 0 ? 0 : shells - 1);
  PlotPanel top;
  PlotFigure fig = shell_figure("enstrophy spectrum of the vorticity (test split)", "enstrophy spectrum Z(k)", top);
  LineSeries t;
  t.name = "truth";
  for (size_t k = 1; k <= last; ++k) t.xs.push_back(double(k)), t.ys.push_back(truth[k]);
  top.series.push_back(t);
  for (const auto& r : runs) top.series.push_back(band_series(r.name, seed_band(r.curves), 1, 1, 1, last + 1));
  fig.panels.push_back(top);
  fig.notes.push_back("Z(k) = 1/2 sum over bins with round(|k|) = k of |w^(k)|^2, w^ = DFT of the vorticity / (H W),");
  fig.notes.push_back("so sum_k Z(k) = 1/2 mean(w^2), the enstrophy per unit area; mean over the test fields. " +
                      seeds_note(runs) + ",");
  fig.notes.push_back("band: min to max over the seeds. Shells above min(H, W)/2, only partly inside the grid, are left out.");
  if (const SeedCurves* ref = find_run(runs, reference)) {
    fig.panels.push_back(change_panel(runs, *ref, "Z(k) change vs " + reference + " (%)", 1, 1, last + 1));
    fig.notes.push_back("Bottom: 100 (Z_run(k) / Z_" + reference + "(k) - 1) per seed, mean and min to max over the seeds.");
  }
  write_svg_plot(path, fig);
}

void write_band_error_figure(const std::string& path, const std::vector<SeedCurves>& runs, const std::string& reference,
                             int k_max, double kd_cutoff_shell) {
  SDKD_CHECK(k_max >= 1, path, ": the band-error figure needs shells 1..k_max with k_max >= 1, got ", k_max);
  PlotPanel top;
  PlotFigure fig = shell_figure("relative error per wavenumber shell (test split)",
                                "relative error sqrt(Z_err(k) / Z_true(k))", top);
  for (const auto& r : runs) top.series.push_back(band_series(r.name, seed_band(r.curves), 1, 1, 1, size_t(k_max) + 1));
  fig.panels.push_back(top);
  fig.notes.push_back("Z_err(k): the enstrophy spectrum of forecast - truth, Z_true(k) that of the truth (as in spectrum.svg),");
  fig.notes.push_back("both over all test fields: the error of each frequency band relative to the truth's energy there. " +
                      seeds_note(runs) + ", band: min to max.");
  if (kd_cutoff_shell > 0)
    fig.notes.push_back("The KD loss splits its bands at normalised wavenumber rho = cutoff, here shell k = " +
                        str_cat(kd_cutoff_shell) + " (low band below).");
  if (const SeedCurves* ref = find_run(runs, reference)) {
    fig.panels.push_back(change_panel(runs, *ref, "change vs " + reference + " (%)", 1, 1, size_t(k_max) + 1));
    fig.notes.push_back("Bottom: 100 (error_run(k) / error_" + reference + "(k) - 1) per seed, mean and min to max over the seeds.");
  }
  write_svg_plot(path, fig);
}

void write_training_figure(const std::string& path, const std::vector<TrainingHistory>& runs) {
  PlotFigure fig;
  fig.title = "training curves (each run's history.json)";
  fig.x_label = "epoch";
  PlotPanel loss, val;
  loss.y_label = "train loss";
  val.y_label = "validation MSE";
  loss.log_y = val.log_y = true;
  loss.height = val.height = 240;
  for (const auto& r : runs) {
    SDKD_CHECK(r.epochs.size() == r.train_loss.size() && r.epochs.size() == r.val_mse.size(), path, ": run '",
               r.name, "' seed ", r.seed, " has ", r.epochs.size(), " epochs but ", r.train_loss.size(),
               " losses and ", r.val_mse.size(), " validation values");
    LineSeries a, b;
    a.name = b.name = r.name;
    a.width = b.width = 1.2;
    for (size_t i = 0; i < r.epochs.size(); ++i) {
      a.xs.push_back(r.epochs[i] + 1);  // 1 = after the first pass over the data
      b.xs.push_back(r.epochs[i] + 1);
      a.ys.push_back(r.train_loss[i]);
      b.ys.push_back(r.val_mse[i]);
    }
    loss.series.push_back(a);
    val.series.push_back(b);
  }
  fig.panels = {loss, val};
  fig.notes.push_back("Train loss: mean over the epoch's batches of the objective, MSE plus the weighted KD term for a");
  fig.notes.push_back("distilled student (on the normalised scale with --normalize zscore). Validation MSE: data units.");
  fig.notes.push_back("One line per run and seed; the seeds of a run share its colour.");
  write_svg_plot(path, fig);
}

}  // namespace sdkd::report
