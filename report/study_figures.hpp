#pragma once
// The line figures of a study: error per lead time, the enstrophy spectrum and the relative
// error per wavenumber shell, each as the
// mean over seeds with the seeds' min-max band and, below, the paired change against the
// student alone (the KD curves lie within a few percent of each other, so only the
// difference shows what a method does); and the training curves of every run.
#include <cstdint>
#include <string>
#include <vector>

namespace sdkd::report {

// One run's curve (one value per lead time, or per wavenumber shell) for each of its seeds.
struct SeedCurves {
  std::string name;     // run_name() (palette.hpp): legend entry and colour
  bool paired = false;  // a student: seed s starts from the same weights as the student alone's seed s
  std::vector<int64_t> seeds;
  std::vector<std::vector<double>> curves;  // curves[i] is seeds[i]'s; all of one length
};

// Pointwise over curves of one length: the mean, the min and the max. No curves: all empty.
struct SeedBand {
  std::vector<double> mean, lo, hi;
  size_t seeds = 0;
};
SeedBand seed_band(const std::vector<std::vector<double>>& curves);

// For each seed both runs have, the relative change 100 * (run_s(x) / reference_s(x) - 1) in
// percent at every point x (non-finite where reference_s(x) is 0), then seed_band over them.
SeedBand paired_change(const SeedCurves& run, const SeedCurves& reference);

// lead_time.svg. Top: `metric` per lead time (1, 2, ...), every run's mean over seeds with its
// min-max band. Bottom: the paired change against `reference` (the run of that name, "student
// alone") of every other paired run, with a zero line. Without the reference the bottom panel
// is left out.
void write_lead_time_figure(const std::string& path, const std::vector<SeedCurves>& runs, const std::string& reference,
                            const std::string& metric);

// spectrum.svg: eval::energy_spectrum's E(k) of vorticity fields, which is the enstrophy
// spectrum (see the figure's notes), on log-log axes for shells 1..k_max (k = 0 is the mean):
// the truth and each run's mean with its seed band; below, the paired change against
// `reference` per shell. k_max <= 0 plots every shell of the curves.
void write_spectrum_figure(const std::string& path, const std::vector<double>& truth,
                           const std::vector<SeedCurves>& runs, const std::string& reference, int k_max);

// band_error.svg, the analogue of the paper's Fig. 2: the relative error per wavenumber shell,
// sqrt(Z_err(k) / Z_true(k)) with Z_err the enstrophy spectrum of forecast - truth, of every run
// (its curves hold that ratio per seed) on log-log axes for shells 1..k_max; below, the paired
// change against `reference` per shell. `kd_cutoff_shell` > 0 names the shell the KD loss's
// band cutoff falls on, in the notes.
void write_band_error_figure(const std::string& path, const std::vector<SeedCurves>& runs, const std::string& reference,
                             int k_max, double kd_cutoff_shell);

// One training run's history.json: per epoch (0-based) the mean training objective and the
// validation MSE.
struct TrainingHistory {
  std::string name;  // run_name(): the colour; every seed of a run shares it
  int64_t seed = 0;
  std::vector<double> epochs, train_loss, val_mse;
};

// training.svg: train loss (top) and validation MSE (bottom) per epoch, log y, one line per
// run and seed.
void write_training_figure(const std::string& path, const std::vector<TrainingHistory>& runs);

}  // namespace sdkd::report
