// The pieces of data parallelism that need no second process: the launch environment, the
// sharded batch order, and the gradient reducer over ranks that are threads
// (tests/common/thread_group.hpp). The mpirun runs are tests/tools/distributed_cli.sh.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/fixtures.hpp"
#include "common/thread_group.hpp"
#include "common/toy.hpp"
#include "sdkd/nn.hpp"
#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/distributed/grad_reducer.hpp"
#include "sdkd/distributed/process_group.hpp"

using namespace sdkd;

namespace {
std::function<const char*(const char*)> env(std::map<std::string, std::string> vars) {
  auto held = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [held](const char* name) -> const char* {
    auto it = held->find(name);
    return it == held->end() ? nullptr : it->second.c_str();
  };
}
}  // namespace

TEST_CASE("detect_launch reads mpirun's, srun's and PMI's variables, and names a bad one") {
  const auto none = dist::detect_launch(env({}));
  CHECK(none.launcher == "none");
  CHECK(none.size == 1);
  const auto ompi = dist::detect_launch(env({{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_RANK", "3"},
                                             {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}));
  CHECK(ompi.launcher == "mpirun");
  CHECK((ompi.rank == 3 && ompi.size == 4 && ompi.local_rank == 1 && ompi.local_size == 2));
  const auto slurm = dist::detect_launch(env({{"SLURM_NTASKS", "8"}, {"SLURM_PROCID", "5"}, {"SLURM_LOCALID", "1"},
                                              {"SLURM_TASKS_PER_NODE", "4(x2)"}}));
  CHECK(slurm.launcher == "srun");
  CHECK((slurm.rank == 5 && slurm.size == 8 && slurm.local_rank == 1 && slurm.local_size == 4));
  // An salloc shell has SLURM_PROCID-free job variables only: not a launch of several.
  CHECK(dist::detect_launch(env({{"SLURM_NTASKS", "8"}})).launcher == "none");
  const auto pmi = dist::detect_launch(env({{"PMI_SIZE", "2"}, {"PMI_RANK", "1"}}));
  CHECK((pmi.launcher == "pmi" && pmi.rank == 1 && pmi.size == 2));
  CHECK(dist::detect_launch(env({{"SDKD_DISTRIBUTED", "1"}})).launcher == "forced");
  CHECK(dist::detect_launch(env({{"SDKD_DISTRIBUTED", "0"}})).launcher == "none");
  CHECK(dist::detect_launch(env({{"SDKD_DISTRIBUTED", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}})).launcher == "mpirun");
  CHECK_THROWS_WITH(dist::detect_launch(env({{"SDKD_DISTRIBUTED", "yes"}})), Catch::Contains("SDKD_DISTRIBUTED"));
  try {
    dist::detect_launch(env({{"OMPI_COMM_WORLD_SIZE", "two"}}));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("OMPI_COMM_WORLD_SIZE") && Catch::Contains("two"));
  }
  try {
    dist::detect_launch(env({{"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_RANK", "2"}}));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("rank 2") && Catch::Contains("world size 2"));
  }
}

TEST_CASE("sharded batches: the ranks' parts of batch k are, in order, batch k of one process at the global batch") {
  const Tensor values = Tensor::zeros({6, 24, 1, 2, 2});
  const data::SequenceDataset ds(values, {2, 2, 1});
  std::vector<int64_t> all(6);
  for (int i = 0; i < 6; ++i) all[size_t(i)] = i;
  const auto windows = ds.windows(all);  // 6 * 21 = 126 windows
  for (int world : {1, 2, 3, 5}) {
    for (int64_t b : {1, 4, 7}) {
      INFO("world " << world << ", batch " << b);
      data::BatchIterator single(ds, windows, b * world, true, 9, 3);
      std::vector<std::vector<std::pair<int64_t, int64_t>>> expect;
      Tensor x, y;
      while (single.next(x, y)) expect.push_back(single.batch_windows());
      // One process's last batch, when shorter than the ranks, is what the ranks leave out.
      if (!expect.empty() && int64_t(expect.back().size()) < world) expect.pop_back();
      std::vector<std::vector<std::pair<int64_t, int64_t>>> got(expect.size());
      std::set<std::pair<int64_t, int64_t>> seen;
      for (int r = 0; r < world; ++r) {
        data::BatchIterator it(ds, windows, b, true, 9, 3, false, data::Shard{r, world});
        CHECK(it.num_batches() == int64_t(expect.size()));
        size_t k = 0;
        while (it.next(x, y)) {
          REQUIRE(k < got.size());
          CHECK(it.global_batch_size() == int64_t(expect[k].size()));
          CHECK(!it.batch_windows().empty());
          CHECK(x.size(0) == int64_t(it.batch_windows().size()));
          for (const auto& w : it.batch_windows()) {
            CHECK(seen.insert(w).second);  // no window twice, on any rank
            got[k].push_back(w);
          }
          ++k;
        }
        CHECK(k == expect.size());
      }
      CHECK(got == expect);
    }
  }
}

namespace {
// Rank r's model: three parameters shared by value, a fourth no rank uses, a fifth only rank 1 uses.
struct Replica {
  std::vector<Tensor> params;
  Replica() {
    for (const Shape& s : std::vector<Shape>{{3}, {5, 2}, {4}, {2}, {6}}) {
      Tensor p = test::randn64(s, 7 + uint64_t(s[0]));
      p.set_requires_grad(true);
      params.push_back(p);
    }
  }
  Tensor loss(int rank, bool all_used = false) const {
    const Tensor in = test::randn64({10}, 100 + uint64_t(rank));
    Tensor l = add(sum(mul(tanh(params[0]), in.slice(0, 0, 3))), sum(square(mul_scalar(params[1], 1.0 + rank))));
    l = add(l, sum(exp(params[2])));
    if (rank == 1 || all_used) l = add(l, sum(mul(params[4], in.slice(0, 4, 10))));
    if (all_used) l = add(l, sum(square(params[3])));
    return l;
  }
};
}  // namespace

TEST_CASE("GradReducer: buckets reduced during backward give every rank the sum of the ranks' gradients") {
  for (int64_t bucket_bytes : {int64_t(8), int64_t(40), dist::kDefaultBucketBytes}) {
    INFO("bucket bytes " << bucket_bytes);
    // What each rank's gradients are alone.
    std::vector<std::vector<std::vector<double>>> alone(2);
    for (int r = 0; r < 2; ++r) {
      Replica m;
      m.loss(r).backward();
      for (const auto& p : m.params) alone[size_t(r)].push_back(p.grad().defined() ? p.grad().to_double_vector() : std::vector<double>{});
    }
    test::ThreadGroup threads(2);
    std::vector<Replica> reps(2);
    std::vector<dist::GradReducer::Stats> stats(2);
    std::vector<size_t> buckets(2);
    threads.run([&](int r) {
      auto group = threads.member(r);
      dist::GradReducer reducer(group->channel(), reps[size_t(r)].params, bucket_bytes);
      buckets[size_t(r)] = reducer.bucket_layout().size();
      for (int step = 0; step < 2; ++step) {  // the reducer resets between steps
        for (auto& p : reps[size_t(r)].params) p.zero_grad();
        reps[size_t(r)].loss(r).backward(Tensor(), false, reducer.hook());
        reducer.finish();
      }
      stats[size_t(r)] = reducer.stats();
    });
    for (int r = 0; r < 2; ++r) {
      const auto& p = reps[size_t(r)].params;
      for (size_t k : {size_t(0), size_t(1), size_t(2)}) {
        REQUIRE(p[k].grad().defined());
        const auto g = p[k].grad().to_double_vector();
        for (size_t i = 0; i < g.size(); ++i) CHECK(g[i] == Approx(alone[0][k][i] + alone[1][k][i]).epsilon(1e-14));
      }
      CHECK(!p[3].grad().defined());  // no rank had a gradient: none, as without the reducer
      REQUIRE(p[4].grad().defined());  // rank 1's alone, on both ranks
      CHECK(p[4].grad().to_double_vector() == alone[1][4]);
      CHECK(stats[size_t(r)].steps == 2);
      CHECK(stats[size_t(r)].buckets == int64_t(buckets[size_t(r)]));
    }
    // Buckets start in index order, so one whose parameter a rank never reaches holds the later
    // ones back until finish() (as in DDP without find_unused_parameters).
    if (bucket_bytes == 8) CHECK(buckets[0] == 5);  // one parameter each
    if (bucket_bytes == dist::kDefaultBucketBytes) CHECK(buckets[0] == 1);
  }
}

TEST_CASE("GradReducer: with every parameter used, buckets go on the wire while backward still runs") {
  test::ThreadGroup threads(2);
  std::vector<Replica> reps(2);
  std::vector<int64_t> early(2);
  threads.run([&](int r) {
    auto group = threads.member(r);
    dist::GradReducer reducer(group->channel(), reps[size_t(r)].params, 8);
    reps[size_t(r)].loss(r, true).backward(Tensor(), false, reducer.hook());
    reducer.finish();
    early[size_t(r)] = reducer.stats().started_in_backward;
  });
  // The last parameters' gradients are final before the first ones' are computed.
  CHECK(early[0] >= 1);
  CHECK(early[0] == early[1]);
}

TEST_CASE("a single-process group is the identity and refuses point-to-point") {
  auto g = dist::single_process_group();
  CHECK(g->size() == 1);
  CHECK(g->sum(2.5) == 2.5);
  CHECK(g->max(7) == 7);
  CHECK(g->broadcast_string("abc", 0) == "abc");
  Tensor t = Tensor::full({3}, 2.0);
  g->all_reduce_sum(t);
  CHECK(t.to_double_vector() == std::vector<double>{2, 2, 2});
  CHECK_THROWS_WITH(g->send("x", 1, 1, 0), Catch::Contains("no other rank"));
}

TEST_CASE("ProcessGroup helpers over threads: sum, max, broadcast_string") {
  test::ThreadGroup threads(3);
  std::vector<double> sums(3);
  std::vector<int64_t> maxes(3);
  std::vector<std::string> texts(3);
  threads.run([&](int r) {
    auto g = threads.member(r);
    sums[size_t(r)] = g->sum(double(r + 1));
    maxes[size_t(r)] = g->max(int64_t(10 * r - 5));
    texts[size_t(r)] = g->broadcast_string(r == 1 ? "from rank one" : "", 1);
  });
  for (int r = 0; r < 3; ++r) {
    CHECK(sums[size_t(r)] == 6);
    CHECK(maxes[size_t(r)] == 15);
    CHECK(texts[size_t(r)] == "from rank one");
  }
}

TEST_CASE("a model with synchronised BatchNorm on 2 ranks at batch 2 has the gradients of 1 rank at batch 4") {
  // The whole data-parallel step without processes: each rank's loss scaled by its share of the
  // global batch, backward with the reducer's hook, finish(); against the plain step on the union.
  for (const char* name : {"unet", "simvp"}) {
    INFO(name);
    const models::ModelConfig cfg = test::toy_config(name, {2, 2, 8, 8});
    const Tensor x = test::randn64({4, 2, 1, 8, 8}, 3).to(DType::f32), y = test::randn64({4, 2, 1, 8, 8}, 4).to(DType::f32);
    auto whole = test::toy_model(cfg, 1);
    whole->train();
    mse_loss(whole->forward(x).pred, y).backward();
    test::ThreadGroup threads(2);
    std::vector<std::shared_ptr<models::Forecaster>> reps{test::toy_model(cfg, 1), test::toy_model(cfg, 1)};
    threads.run([&](int r) {
      auto group = threads.member(r);
      auto& m = *reps[size_t(r)];
      m.train();
      nn::sync_batch_norms(m, group);
      dist::GradReducer reducer(group->channel(), m.parameters(), 4096);
      const Tensor xr = x.slice(0, 2 * r, 2 * r + 2), yr = y.slice(0, 2 * r, 2 * r + 2);
      const Tensor loss = mse_loss(m.forward(xr).pred, yr);
      loss.backward(Tensor::full(loss.shape(), 0.5, loss.dtype()), false, reducer.hook());
      reducer.finish();
    });
    const auto expect = whole->named_parameters();
    double worst = 0;
    for (int r = 0; r < 2; ++r) {
      const auto got = reps[size_t(r)]->named_parameters();
      REQUIRE(got.size() == expect.size());
      for (size_t k = 0; k < got.size(); ++k) {
        INFO(got[k].first);
        REQUIRE(got[k].second.grad().defined());
        const auto a = got[k].second.grad().to_double_vector(), b = expect[k].second.grad().to_double_vector();
        double scale = 0;
        for (double v : b) scale = std::max(scale, std::fabs(v));
        for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]) / std::max(scale, 1e-12));
      }
      // Running statistics: the global batch's on every rank.
      const auto rb = reps[size_t(r)]->named_buffers(), wb = whole->named_buffers();
      for (size_t k = 0; k < rb.size(); ++k) {
        const auto a = rb[k].second.to_double_vector(), b = wb[k].second.to_double_vector();
        for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(b[i]).epsilon(1e-5).margin(1e-6));
      }
    }
    INFO("worst gradient difference relative to each tensor's largest entry: " << worst);
    CHECK(worst < 1e-4);
  }
}
