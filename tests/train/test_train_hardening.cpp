// The training loop on bad input (issues 11 item 7, 12 item 2): a batch size of 0, an output path
// that is a file, a folder that holds another run, a diverging run with and without a
// checkpoint, and an edited last.safetensors (metadata, non-finite tensors) on resume.
// Each gets one sdkd::Error naming what is wrong; none crashes or writes a diverged model.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "common/toy.hpp"
#include "sdkd/datasets/split.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"
#include "sdkd/safetensors.hpp"
#include "sdkd/train/trainer.hpp"

using Catch::Matchers::Contains;
using namespace sdkd;
namespace fs = std::filesystem;

namespace {

struct Run {
  data::SequenceDataset ds = test::noise_flow(12, 4, 3, "noise");
  data::Split split = data::split_indices(12, 1);
  train::TrainConfig cfg;
  Run(const std::string& dir, int64_t epochs) {
    cfg.epochs = epochs;
    cfg.batch_size = 100;  // every training window in one batch: one step per epoch
    cfg.quiet = true;
    cfg.out_dir = dir;
  }
  train::TrainResult train(const train::TrainHooks& hooks = {}) {
    auto model = test::toy_model(test::toy_unet_config(), 4);
    return train::train_forecaster(*model, ds, split, cfg, hooks);
  }
};

// A loss hook that is plain MSE until call `bad_call` (1-based), which returns NaN.
train::TrainHooks nan_at(int bad_call) {
  auto calls = std::make_shared<int>(0);
  train::TrainHooks h;
  h.loss = [calls, bad_call](const Tensor&, const Tensor& y, const models::ModelOutput& out,
                             const std::vector<train::Window>&) {
    const Tensor mse = mse_loss(out.pred, y);
    return train::LossParts{++*calls == bad_call ? mul_scalar(mse, std::nan("")) : mse, {}};
  };
  return h;
}

// last.safetensors of `dir` with one metadata entry replaced (value empty: removed).
void edit_metadata(const std::string& dir, const std::string& key, const std::string& value) {
  const std::string path = (fs::path(dir) / "last.safetensors").string();
  StFile f = load_safetensors(path);
  if (value.empty()) f.metadata.erase(key);
  else f.metadata[key] = value;
  save_safetensors(path, f.tensors, f.metadata);
}

}  // namespace

TEST_CASE("a batch size of 0 is refused before the trainer divides by it", "[train][limits]") {
  const test::TempDir dir("batch0");
  Run run(dir.str(), 1);
  run.cfg.batch_size = 0;
  CHECK_THROWS_WITH(run.train(), "train.batch_size must be an integer in [1, 100000], got 0");
  run.cfg.batch_size = 1;
  run.cfg.epochs = 0;
  CHECK_THROWS_WITH(run.train(), "train.epochs must be an integer in [1, 100000], got 0");
  CHECK(dir.count() == 0);
}

TEST_CASE("an output path that is a file is one error naming it", "[train][limits]") {
  const test::TempDir dir("outfile");
  test::write_bytes(dir / "taken", "x");
  Run run(dir / "taken", 1);
  CHECK_THROWS_WITH(run.train(), (dir / "taken") + ": exists and is not a folder (expected a folder for the run's "
                                                    "outputs)");
}

TEST_CASE("the NaN guard names the checkpoint only when this run has one", "[train][limits]") {
  const test::TempDir dir("nanguard");
  Run run(dir.str(), 3);
  const std::string last = dir / "last.safetensors";
  CHECK_THROWS_WITH(run.train(nan_at(1)), "non-finite training loss (nan) at epoch 1 step 1; no checkpoint has been "
                                          "written yet (try a lower --lr or --grad-clip)");
  CHECK_FALSE(fs::exists(last));
  CHECK_THROWS_WITH(run.train(nan_at(2)), "non-finite training loss (nan) at epoch 2 step 2; the last good checkpoint "
                                          "is " + last + " (try a lower --lr or --grad-clip)");
  // A fresh run in a folder with an older run's checkpoint is refused before it starts (it
  // would train over that run), so the older file is never offered as this run's.
  CHECK_THROWS_WITH(run.train(nan_at(1)), Contains(dir.str() + ": holds another run (last.safetensors)"));
  run.cfg.resume = true;  // resumed from it: now it is
  CHECK_THROWS_WITH(run.train(nan_at(1)), Contains("the last good checkpoint is " + last));
}

TEST_CASE("a model that diverges within an epoch is not saved", "[train][limits]") {
  const test::TempDir dir("diverged");
  Run run(dir.str(), 2);
  auto model = test::toy_model(test::toy_unet_config(), 4);
  train::TrainHooks h;
  h.loss = [&](const Tensor&, const Tensor& y, const models::ModelOutput& out, const std::vector<train::Window>&) {
    model->parameters().front().data<float>()[0] = std::nanf("");  // the step below keeps it NaN
    return train::LossParts{mse_loss(out.pred, y), {}};
  };
  CHECK_THROWS_WITH(train::train_forecaster(*model, run.ds, run.split, run.cfg, h),
                    Contains("non-finite validation MSE (nan) after epoch 1; no checkpoint has been written yet"));
  CHECK(dir.count() == 0);
}

TEST_CASE("an edited last.safetensors is one error naming the file and the key on resume", "[train][limits]") {
  const test::TempDir dir("tampered");
  Run run(dir.str(), 1);
  const std::string path = dir / "last.safetensors";
  const struct {
    const char *key, *value, *error;
  } cases[] = {
      {"epoch", "abc", ": metadata 'epoch' must be an integer, got 'abc'"},
      {"epoch", "3x", ": metadata 'epoch' must be an integer, got '3x'"},
      {"epoch", "100000", ": metadata.epoch must be an integer in [0, 99999], got 100000"},
      {"epoch", "", ": no 'epoch' entry in the metadata"},
      {"best_epoch", "5", ": metadata.best_epoch must be an integer in [-1, 0], got 5"},
      {"best_val_mse", "nan", ": metadata.best_val_mse must be a finite number >= 0, got nan"},
      {"train_seconds", "", ": no 'train_seconds' entry in the metadata"},
      {"history", "[{\"epoch\": \"x\"}]", ": metadata history[0]: key 'epoch' has the wrong type"},
      {"history", "[{\"epoch\": 0}]", ": metadata history[0]: missing key 'train_loss'"},
      {"history", "{}", ": metadata history: expected a list of at most 1 epochs"},
      {"history", "[1e400]", ": metadata history: not valid JSON"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.key, c.value);
    fs::remove_all(dir.dir);
    run.cfg.resume = false;
    run.train();
    edit_metadata(dir.str(), c.key, c.value);
    run.cfg.resume = true;
    CHECK_THROWS_WITH(run.train(), Contains(path + c.error));
  }
  fs::remove_all(dir.dir);
  run.cfg.resume = false;
  run.train();  // deep nesting: the history copied or compared would recurse 100k levels
  edit_metadata(dir.str(), "history", std::string(100000, '[') + std::string(100000, ']'));
  run.cfg.resume = true;
  CHECK_THROWS_WITH(run.train(), Contains(path + ": metadata history: JSON nested deeper than 64 levels"));
}

TEST_CASE("a folder that holds another run is refused unless the run resumes", "[train][limits]") {
  const test::TempDir dir("another");
  Run run(dir.str(), 1);
  run.train();
  for (const char* held : {"last.safetensors", "best.safetensors"}) {
    CAPTURE(held);
    const auto before = fs::last_write_time(dir / held);
    CHECK_THROWS_WITH(run.train(), dir.str() + ": holds another run (" + held +
                                       "); pass --resume to continue it, or remove it or choose another --out");
    CHECK(fs::last_write_time(dir / held) == before);  // untouched
    fs::remove(dir / "last.safetensors");              // then best.safetensors alone
  }
  fs::remove(dir / "best.safetensors");
  run.train();  // a folder with neither is free (history.json, train.json are written again)
  run.cfg.resume = true;
  run.cfg.epochs = 2;
  CHECK(run.train().history.size() == 2);  // --resume continues it
}

TEST_CASE("resuming from a last.safetensors with non-finite tensors is refused naming it", "[train][limits]") {
  const test::TempDir dir("nanresume");
  Run run(dir.str(), 1);
  run.train();
  const std::string path = dir / "last.safetensors";
  StFile f = load_safetensors(path);
  // One weight and, separately, one optimizer moment set to infinity / NaN.
  for (const std::string prefix : {"", "optim."}) {
    CAPTURE(prefix);
    StFile edited = f;
    std::string name;
    for (auto& [n, t] : edited.tensors)
      if ((prefix.empty() ? n.rfind("optim.", 0) != 0 : n.rfind(prefix, 0) == 0) && t.dtype == "F32") {
        name = n;
        const float bad = prefix.empty() ? INFINITY : NAN;
        std::memcpy(t.bytes.data(), &bad, sizeof bad);
        break;
      }
    REQUIRE(!name.empty());
    save_safetensors(path, edited.tensors, edited.metadata);
    run.cfg.resume = true;
    CHECK_THROWS_WITH(run.train(), path + ": tensor '" + name +
                                       "' holds non-finite values (NaN or infinity); this checkpoint cannot be resumed");
  }
}
