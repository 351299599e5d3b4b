// word2vec.c's CBOW negative-sampling inner loop as a PyTorch CPU extension.
//
// Threads share both tables and update them without locks ("Hogwild"), as word2vec.c does: a
// rare lost update costs nothing measurable, while every example sees the vectors as updated by
// the example before it, which batched updates cannot offer. With one thread a seeded run is
// bit-for-bit reproducible.
#include <torch/extension.h>
#include <thread>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <vector>

namespace {

// word2vec.c's linear congruential generator: cheap, and plenty for sampling.
struct Lcg {
  uint64_t state;
  uint64_t next() { return state = state * 25214903917ULL + 11; }
  float uniform() { return (next() >> 16 & 0xFFFF) / 65536.0f; }
  // A draw in [0, n) from the top 32 bits by multiply-shift: no division on the hot path.
  uint64_t below(uint64_t n) { return ((next() >> 32) * n) >> 32; }
};

inline float dot(const float* a, const float* b, int64_t n) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

inline void axpy(float g, const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] += g * x[i];
}

// For a score f and its label: returns the update's (label - sigmoid(f)) and multiplies
// `likelihood` by the probability the model gives the label, sigmoid(+-f). The example's loss,
// the binary cross-entropy summed over its outputs, is then -log(likelihood): one log per
// example instead of one per output.
inline float error_and_likelihood(float f, float label, double& likelihood) {
  const float e = std::exp(-std::fabs(f));
  const float inv = 1.f / (1.f + e);
  const float sigmoid = f >= 0 ? inv : e * inv;
  // P(label) from e directly: 1 - sigmoid would round to 0 once sigmoid rounds to 1.
  likelihood *= ((label > 0) == (f >= 0)) ? inv : e * inv;
  return label - sigmoid;
}

}  // namespace

// Trains on sentences [s_begin, s_end) of the encoded corpus; returns (loss sum, examples).
// The learning rate falls linearly from alpha_start to alpha_end over `total_words`, of which
// `words_done` were processed before this call.
std::tuple<double, int64_t> cbow_train(torch::Tensor syn0, torch::Tensor syn1neg, torch::Tensor ids,
                                       torch::Tensor starts, int64_t s_begin, int64_t s_end,
                                       torch::Tensor keep_prob, torch::Tensor table, int64_t window,
                                       int64_t negative, bool cbow_mean, double alpha_start,
                                       double alpha_end, double words_done, double total_words,
                                       int64_t seed, int64_t workers) {
  TORCH_CHECK(syn0.is_contiguous() && syn0.scalar_type() == torch::kFloat32, "syn0: contiguous float32");
  TORCH_CHECK(syn1neg.is_contiguous() && syn1neg.scalar_type() == torch::kFloat32, "syn1neg: contiguous float32");
  TORCH_CHECK(ids.scalar_type() == torch::kInt32 && starts.scalar_type() == torch::kInt64, "ids int32, starts int64");
  TORCH_CHECK(keep_prob.scalar_type() == torch::kFloat32 && table.scalar_type() == torch::kInt32, "keep_prob float32, table int32");
  TORCH_CHECK(ids.is_contiguous() && starts.is_contiguous() && keep_prob.is_contiguous() && table.is_contiguous(),
              "ids, starts, keep_prob and table must be contiguous");
  TORCH_CHECK(syn0.sizes() == syn1neg.sizes() && keep_prob.numel() == syn0.size(0), "tables and keep_prob disagree on the vocabulary");
  TORCH_CHECK(0 <= s_begin && s_begin <= s_end && s_end < starts.numel(), "sentence range outside starts");
  TORCH_CHECK(window >= 1 && negative >= 0 && workers >= 1 && table.numel() >= 1, "window, workers >= 1; negative >= 0");
  const int64_t dim = syn0.size(1);
  float* w_in = syn0.data_ptr<float>();
  float* w_out = syn1neg.data_ptr<float>();
  const int32_t* tok = ids.data_ptr<int32_t>();
  const int64_t* start = starts.data_ptr<int64_t>();
  const float* keep = keep_prob.data_ptr<float>();
  const int32_t* noise = table.data_ptr<int32_t>();
  const uint64_t table_size = static_cast<uint64_t>(table.numel());
  // A noise table of one word (a 1-word vocabulary) can only ever draw the target: keep it.
  const bool varied = table_size > 1 && noise[0] != noise[table_size - 1];

  // Split the sentences into one contiguous share per thread, balanced by words.
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(workers, s_end - s_begin));
  std::vector<int64_t> cut(threads + 1, s_begin);
  const int64_t first = start[s_begin], words = start[s_end] - first;
  for (int64_t t = 1; t < threads; ++t) {
    const int64_t goal = first + words * t / threads;
    cut[t] = std::upper_bound(start + cut[t - 1], start + s_end, goal) - start - 1;
    cut[t] = std::max(cut[t], cut[t - 1]);
  }
  cut[threads] = s_end;

  std::atomic<int64_t> progress{0};
  std::vector<double> losses(threads, 0.0);
  std::vector<int64_t> examples(threads, 0);
  auto work = [&](int64_t t) {
    {
      Lcg rng{static_cast<uint64_t>(seed) * 1000003ULL + static_cast<uint64_t>(t) * 7919ULL + 1};
      std::vector<float> neu1(dim), neu1e(dim);
      std::vector<int32_t> sen, outputs(negative + 1);
      double loss = 0.0;
      int64_t n_examples = 0, local_words = 0;
      float alpha = static_cast<float>(alpha_start);
      // alpha follows the words processed by all threads; `within` counts this thread's words
      // of the sentence in progress, so a long sentence does not run at one rate.
      auto refresh_alpha = [&](int64_t within) {
        if (local_words >= 10000) progress += local_words, local_words = 0;
        const double done = words_done + progress.load() + local_words + within;
        const double frac = std::min(1.0, done / std::max(total_words, 1.0));
        alpha = static_cast<float>(alpha_start - (alpha_start - alpha_end) * frac);
      };
      refresh_alpha(0);
      for (int64_t s = cut[t]; s < cut[t + 1]; ++s) {
        sen.clear();
        for (int64_t i = start[s]; i < start[s + 1]; ++i) {
          const int32_t w = tok[i];
          if (keep[w] >= 1.f || keep[w] > rng.uniform()) sen.push_back(w);  // subsampling
        }
        const int64_t sentence_words = start[s + 1] - start[s];
        const int64_t n = static_cast<int64_t>(sen.size());
        for (int64_t pos = 0; pos < n; ++pos) {
          if ((pos & 1023) == 1023) refresh_alpha(sentence_words * pos / n);
          const int64_t reach = 1 + static_cast<int64_t>(rng.below(window));  // shrunk window
          const int64_t lo = std::max<int64_t>(0, pos - reach), hi = std::min<int64_t>(n - 1, pos + reach);
          if (hi == lo) continue;  // no context word
          const int32_t word = sen[pos];
          // Draw the noise words first and ask for their rows early: the fetches from memory
          // then overlap the context sum instead of stalling each dot product.
          outputs[0] = word;
          __builtin_prefetch(w_out + int64_t(word) * dim);
          for (int64_t d = 1; d <= negative; ++d) {
            int32_t target;
            do target = noise[rng.below(table_size)]; while (target == word && varied);
            outputs[d] = target;
            __builtin_prefetch(w_out + int64_t(target) * dim);
          }
          std::fill(neu1.begin(), neu1.end(), 0.f);
          std::fill(neu1e.begin(), neu1e.end(), 0.f);
          for (int64_t c = lo; c <= hi; ++c)
            if (c != pos) axpy(1.f, w_in + int64_t(sen[c]) * dim, neu1.data(), dim);
          if (cbow_mean) {
            const float inv = 1.f / static_cast<float>(hi - lo);
            for (int64_t i = 0; i < dim; ++i) neu1[i] *= inv;
          }
          double likelihood = 1.0;
          for (int64_t d = 0; d <= negative; ++d) {
            float* out = w_out + int64_t(outputs[d]) * dim;
            const float f = dot(neu1.data(), out, dim);
            const float g = error_and_likelihood(f, d == 0 ? 1.f : 0.f, likelihood) * alpha;
            axpy(g, out, neu1e.data(), dim);
            axpy(g, neu1.data(), out, dim);
          }
          loss -= std::log(std::max(likelihood, 1e-300));
          for (int64_t c = lo; c <= hi; ++c)
            if (c != pos) axpy(1.f, neu1e.data(), w_in + int64_t(sen[c]) * dim, dim);
          ++n_examples;
        }
        local_words += sentence_words;
        refresh_alpha(0);
      }
      progress += local_words;
      losses[t] = loss;
      examples[t] = n_examples;
    }
  };
  {
    // Plain threads rather than at::parallel_for, which runs serially in an extension built
    // without -fopenmp. pybind11's call guard below releases the GIL meanwhile.
    std::vector<std::thread> pool;
    for (int64_t t = 1; t < threads; ++t) pool.emplace_back(work, t);
    work(0);
    for (auto& th : pool) th.join();
  }
  double loss = 0.0;
  int64_t n = 0;
  for (int64_t t = 0; t < threads; ++t) loss += losses[t], n += examples[t];
  return {loss, n};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("cbow_train", &cbow_train, "word2vec.c's CBOW negative-sampling loop, Hogwild threads",
        py::call_guard<py::gil_scoped_release>());
}
