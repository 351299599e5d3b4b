// word2vec.c's training loop as a PyTorch CPU extension: CBOW or skip-gram, with negative
// sampling, hierarchical softmax, or both; with subwords, fastText's model, in which a word's
// input vector is the mean of a bag of rows (its own and its character n-grams').
//
// Threads share the tables and update them without locks ("Hogwild"), as word2vec.c does: a rare
// lost update costs nothing measurable, while every example sees the vectors as updated by the
// example before it, which batched updates cannot offer. The exception is the few rows that
// nearly every example writes, hierarchical softmax's top tree nodes: each thread updates its own
// copy of those and merges it often (share_nodes). With one thread a seeded run is bit-for-bit
// reproducible.
#include <torch/extension.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace {

// word2vec.c's linear congruential generator: cheap, and plenty for sampling.
struct Lcg {
  uint64_t state;
  uint64_t next() { return state = state * 25214903917ULL + 11; }
  float uniform() { return (next() >> 16 & 0xFFFF) / 65536.0f; }
  // 24 bits, as many as a float's mantissa: the alias table's coin.
  float uniform24() { return (next() >> 40) * (1.0f / 16777216.0f); }
  // A draw in [0, n) from the top 32 bits by multiply-shift: no division on the hot path.
  uint64_t below(uint64_t n) { return ((next() >> 32) * n) >> 32; }
};

// Eight floats as one value (GCC's and Clang's vector extension): AVX's register, two of SSE's
// or NEON's where the CPU has no AVX.
using Floats8 = float __attribute__((vector_size(32)));
using Ints8 = int32_t __attribute__((vector_size(32)));
using Floats4 = float __attribute__((vector_size(16)));  // a tail of 4 to 7 columns

inline Floats8 load8(const float* p) {
  Floats8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store8(float* p, Floats8 v) { std::memcpy(p, &v, sizeof v); }

// Rows of dim >= 8 that are not a multiple of 8 long (gensim's default 100) end in a vector that
// overlaps the one before it: the last 8 columns are computed from the row as it was, before the
// loop, and stored after it, so the columns both cover get the same value twice (a dot product
// masks the columns already added instead). One vector instead of dim % 8 scalar steps.
inline bool overlapped_tail(int64_t n) { return n > 8 && n % 8 != 0; }

// A dot product in four running sums of eight lanes: with one sum every multiply-add waits for
// the one before it (four cycles each), so a 100-float dot would take the chain's latency rather
// than the loads' time; and the lanes are added in registers, where the compiler's own reduction
// stores them to the stack and reads them back one by one. The order of the additions is fixed
// here, so the result does not depend on the build.
inline float dot(const float* a, const float* b, int64_t n) {
  Floats8 s0 = {}, s1 = {}, s2 = {}, s3 = {};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 += load8(a + i) * load8(b + i);
    s1 += load8(a + i + 8) * load8(b + i + 8);
    s2 += load8(a + i + 16) * load8(b + i + 16);
    s3 += load8(a + i + 24) * load8(b + i + 24);
  }
  for (; i + 8 <= n; i += 8) s0 += load8(a + i) * load8(b + i);
  const bool tail = overlapped_tail(n);
  if (tail) {
    const Ints8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
    const Ints8 fresh = lane >= static_cast<int32_t>(8 - n % 8);  // the columns not yet added
    const Floats8 p = load8(a + n - 8) * load8(b + n - 8);
    s1 += (Floats8)((Ints8)p & fresh);
  }
  const Floats8 v = (s0 + s1) + (s2 + s3);
  float sum = ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
  for (; i < n && !tail; ++i) sum += a[i] * b[i];
  return sum;
}

inline void axpy(float g, const float* x, float* y, int64_t n) {
  const bool tail = overlapped_tail(n);
  const Floats8 last = tail ? load8(y + n - 8) + g * load8(x + n - 8) : Floats8{};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) store8(y + i, load8(y + i) + g * load8(x + i));
  if (tail) return store8(y + n - 8, last);
  for (; i < n; ++i) y[i] += g * x[i];
}

// Columns [at, at + K vectors V) of update_outputs: the block's neu1e and h in registers over
// every output.
template <typename V, int K>
inline void update_columns(float* const* rows, const float* g, int64_t n, const float* h,
                           float* neu1e, int64_t at) {
  constexpr int64_t lanes = sizeof(V) / sizeof(float);
  V err[K], x[K];
  for (int k = 0; k < K; ++k) {
    std::memcpy(&err[k], neu1e + at + lanes * k, sizeof(V));
    std::memcpy(&x[k], h + at + lanes * k, sizeof(V));
  }
  for (int64_t j = 0; j < n; ++j) {
    float* out = rows[j] + at;
    for (int k = 0; k < K; ++k) {
      V o;
      std::memcpy(&o, out + lanes * k, sizeof(V));
      err[k] += g[j] * o;
      const V moved = o + g[j] * x[k];
      std::memcpy(out + lanes * k, &moved, sizeof(V));
    }
  }
  for (int k = 0; k < K; ++k) std::memcpy(neu1e + at + lanes * k, &err[k], sizeof(V));
}

// word2vec.c's two updates for each of an example's outputs j, whose rows are distinct: neu1e +=
// g[j] * out_j, with out_j as it was, then out_j += g[j] * h. A few vectors of columns at a time,
// their neu1e and h held in registers while the outputs' rows stream past: per output and vector
// one load and one store, where output after output it was three loads and two stores (the
// stores bound hierarchical softmax's ~12 nodes an example). Every column adds the outputs' terms
// in their order, so the result is the same bit for bit. At most 6 vectors a pass: 12 registers
// of neu1e and h, and room for the rest in AVX2's 16.
inline void update_outputs(float* const* rows, const float* g, int64_t n, const float* h,
                           float* neu1e, int64_t dim) {
  const int64_t vectors = dim / 8, passes = (vectors + 5) / 6;
  for (int64_t p = 0, done = 0; p < passes; ++p) {
    const int64_t k = (vectors - done) / (passes - p);
    switch (k) {
      case 1: update_columns<Floats8, 1>(rows, g, n, h, neu1e, 8 * done); break;
      case 2: update_columns<Floats8, 2>(rows, g, n, h, neu1e, 8 * done); break;
      case 3: update_columns<Floats8, 3>(rows, g, n, h, neu1e, 8 * done); break;
      case 4: update_columns<Floats8, 4>(rows, g, n, h, neu1e, 8 * done); break;
      case 5: update_columns<Floats8, 5>(rows, g, n, h, neu1e, 8 * done); break;
      default: update_columns<Floats8, 6>(rows, g, n, h, neu1e, 8 * done); break;
    }
    done += k;
  }
  int64_t i = 8 * vectors;  // the last dim % 8 columns: four in a vector, the rest one by one
  if (i + 4 <= dim) update_columns<Floats4, 1>(rows, g, n, h, neu1e, i), i += 4;
  for (; i < dim; ++i) update_columns<float, 1>(rows, g, n, h, neu1e, i);
}

// K vectors of columns of the sum of `count` rows of `table` (the k-th from column at[k]), held
// in registers while the rows stream past.
template <int K>
inline void sum_columns(const float* table, const int32_t* ids, int64_t count, int64_t dim,
                        const int64_t* at, float* out) {
  Floats8 s[K] = {};
  for (int64_t r = 0; r < count; ++r) {
    const float* row = table + int64_t(ids[r]) * dim;
    for (int k = 0; k < K; ++k) s[k] += load8(row + at[k]);
  }
  for (int k = 0; k < K; ++k) store8(out + at[k], s[k]);
}

// out = the sum of rows ids[0, count) of table, each column added up in the rows' order, as an
// axpy per row would add them, so the result is the same bit for bit; but a few vectors of
// columns at a time in registers, where an axpy per row loads and stores the whole sum once per
// row (a fastText CBOW example sums ~100 rows: a quarter of its time went there). Up to 8
// vectors a pass: fewer would leave each register's chain of additions waiting on the one
// before.
inline void sum_rows(const float* table, const int32_t* ids, int64_t count, float* out,
                     int64_t dim) {
  if (dim < 8) {
    std::fill(out, out + dim, 0.f);
    for (int64_t r = 0; r < count; ++r) axpy(1.f, table + int64_t(ids[r]) * dim, out, dim);
    return;
  }
  const int64_t vectors = (dim + 7) / 8, passes = (vectors + 7) / 8;
  for (int64_t p = 0, done = 0; p < passes; ++p) {
    const int64_t k = (vectors - done) / (passes - p);  // even passes: 13 vectors as 6 and 7
    int64_t at[8];  // each vector's first column; the last overlaps where dim % 8 != 0
    for (int64_t v = 0; v < k; ++v) at[v] = std::min(8 * (done + v), dim - 8);
    switch (k) {
      case 1: sum_columns<1>(table, ids, count, dim, at, out); break;
      case 2: sum_columns<2>(table, ids, count, dim, at, out); break;
      case 3: sum_columns<3>(table, ids, count, dim, at, out); break;
      case 4: sum_columns<4>(table, ids, count, dim, at, out); break;
      case 5: sum_columns<5>(table, ids, count, dim, at, out); break;
      case 6: sum_columns<6>(table, ids, count, dim, at, out); break;
      case 7: sum_columns<7>(table, ids, count, dim, at, out); break;
      default: sum_columns<8>(table, ids, count, dim, at, out); break;
    }
    done += k;
  }
}

struct Options {
  int64_t dim, window, negative;
  bool hs, sg, cbow_mean, shrink;
};

// The read-only inputs and the shared tables of one call.
struct Model {
  float* syn0;          // (V, D) word vectors
  float* syn1neg;       // (V, D) output vectors of negative sampling
  float* syn1;          // (V, D) inner-node vectors of hierarchical softmax
  const int8_t* code;   // Huffman code bits of every word, concatenated
  const int32_t* point; // inner nodes on every word's path, concatenated
  const int64_t* path;  // word w's code and points are [path[w], path[w + 1])
  const float* keep;    // subsampling keep probability per word
  // Walker's alias table of unigram**0.75, (V, 2): slot i keeps word i with the probability
  // whose float32 bits are noise[2i], else takes word noise[2i + 1]. Side by side, a draw is
  // one load from memory instead of two (skip-gram, negative sampling: 10% faster).
  const int32_t* noise;
  uint64_t noise_size;
  bool varied;          // false for a 1-word vocabulary, whose noise word is always the target
  uint8_t* touched;     // (V,) or null: set to 1 for every syn1neg row an example updates
  // Word w's input rows are bag_rows[bag_start[w], bag_start[w + 1]); null: row w alone.
  const int32_t* bag_rows;
  const int64_t* bag_start;
  // (rows of syn0,) or null: each input row's updates scaled by its lock factor, gensim's
  // vectors_lockf (0 keeps a pretrained row frozen, 1 trains it as any other).
  const float* lockf;
};

inline float lock_factor(const Model& m, int64_t row) { return m.lockf ? m.lockf[row] : 1.f; }

// A word's input rows: its bag's, or its own row alone (`word` points to where its id is held).
struct Bag {
  const int32_t* rows;
  int64_t size;
};

inline Bag bag_of(const Model& m, const int32_t* word) {
  if (!m.bag_start) return {word, 1};
  const int64_t first = m.bag_start[*word];
  return {m.bag_rows + first, m.bag_start[*word + 1] - first};
}

// Every input row takes the whole error g, as in fastText (Model::update) and gensim.
inline void update_rows(const Model& m, const int32_t* ids, int64_t count, const float* g,
                        int64_t dim) {
  for (int64_t r = 0; r < count; ++r)
    axpy(lock_factor(m, ids[r]), g, m.syn0 + int64_t(ids[r]) * dim, dim);
}

// One thread's scratch space and running totals, on cache lines of its own: a neighbour's writes
// to its random generator or totals would otherwise move the line between cores every example.
struct alignas(64) Worker {
  Lcg rng;
  std::vector<float> neu1, neu1e;
  std::vector<int32_t> sen, outputs;
  std::vector<int32_t> inputs;           // one CBOW example's input rows, every context bag's
  std::vector<float*> rows;              // one example's output rows: tree nodes or noise words
  std::vector<uint8_t> labels;
  // Their scores f, exp(-|f|), 1 / (1 + exp(-|f|)), and the gradients of those updated.
  std::vector<float> f, e, inv, g;
  double loss = 0.0;        // -log of the likelihoods folded in so far
  double likelihood = 1.0;  // product of the examples' likelihoods not yet in `loss`
  int64_t examples = 0;
  // With several threads, the tree's top nodes (ids from `own_first`), on every path, are
  // updated in this thread's copy `own` and merged into syn1 by share_nodes; `seen` holds them
  // as the last merge left them.
  int64_t own_first = INT64_MAX;
  std::vector<float> own, seen;
  int64_t unshared = 0;  // words trained since the last merge
};

// Words between a thread's merges of its own tree nodes, a few milliseconds of training: merging
// every 256 words made CBOW up to a fifth slower for no accuracy measurable (BENCHMARKS.md).
constexpr int64_t kShareEvery = 1024;

// The row of inner node `node`: the thread's own copy for the top nodes, else syn1's.
inline float* node_row(const Model& m, Worker& w, int32_t node, int64_t dim) {
  return node >= w.own_first ? w.own.data() + (node - w.own_first) * dim
                             : m.syn1 + int64_t(node) * dim;
}

// Adds what this thread's updates changed in its own top nodes since the last merge to syn1 and
// starts again from syn1's rows, which hold the other threads' merged changes too: local SGD on
// the few rows that every example writes, so that those stay in this core's cache instead of
// moving between cores on every write (skip-gram with hierarchical softmax ran slower on two
// threads than on one). One merge at a time, so that no thread's changes are lost.
inline void share_nodes(const Model& m, Worker& w, int64_t dim, std::mutex& lock) {
  w.unshared = 0;
  if (w.own.empty()) return;
  std::lock_guard<std::mutex> hold(lock);
  float* shared = m.syn1 + w.own_first * dim;
  for (size_t i = 0; i < w.own.size(); ++i) {
    shared[i] += w.own[i] - w.seen[i];
    w.own[i] = w.seen[i] = shared[i];
  }
}

// exp(-x) for x >= 0 in plain multiply-adds, so that a loop over an example's outputs
// vectorizes (a call to expf does not): x = n ln2 + r with |r| <= ln2 / 2, e^-r by its Taylor
// series to r^7 (the next term is below float's rounding), and 2^-n put into the exponent bits.
inline float exp_neg(float x) {
  x = std::min(x, 87.f);  // e^-87 is still a normal float
  constexpr float kRound = 12582912.f;  // 1.5 * 2^23: adding it rounds to an integer
  const float n = (x * 1.44269504f + kRound) - kRound;
  // ln2 in two parts (Cody and Waite), the first exact in few bits, so that n * ln2 is exact.
  const float y = n * 0.693359375f - x + n * -2.12194440e-4f;  // -r
  float q = 1.f / 5040;
  for (const float c : {1.f / 720, 1.f / 120, 1.f / 24, 1.f / 6, 1.f / 2, 1.f, 1.f}) q = q * y + c;
  // A NaN score (a diverged run) must give NaN, not an undefined int conversion: q carries it.
  const int32_t bits = (127 - (n == n ? static_cast<int32_t>(n) : 0)) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return q * scale;
}

// word2vec.c's MAX_EXP rule: its sigmoid table stops at |f| = 6. Beyond it, negative sampling
// takes the sigmoid as exactly 0 or 1, so an output already right by that margin gets no update
// (we skip its two vector operations too), and hierarchical softmax skips the node either way.
// The loss still counts the exact probability.
constexpr float kMaxExp = 6.f;

// Scores hidden vector h against the example's outputs w.rows[0, n), whose rows must be distinct,
// moves each output vector and accumulates the error for h into neu1e: word2vec.c's update,
// output after output. No output's update touches another's row or h, so every score can be
// taken first and the sigmoids computed together. Multiplies `likelihood` by the probability
// the model gave each label: an example's loss, its binary cross-entropy summed over outputs,
// is -log(likelihood), one log per example instead of one per output.
inline void learn(Worker& w, int64_t n, const float* h, float alpha, int64_t dim,
                  double& likelihood, bool tree) {
  float *f = w.f.data(), *e = w.e.data(), *inv = w.inv.data();
  const uint8_t* label = w.labels.data();
  for (int64_t k = 0; k < n; ++k) f[k] = dot(h, w.rows[k], dim);
  for (int64_t k = 0; k < n; ++k) {
    e[k] = exp_neg(std::fabs(f[k]));
    inv[k] = 1.f / (1.f + e[k]);
  }
  // P(label) from e directly: 1 - sigmoid would round to 0 once sigmoid rounds to 1.
  for (int64_t k = 0; k < n; ++k) likelihood *= label[k] == (f[k] >= 0) ? inv[k] : e[k] * inv[k];
  // The outputs that are updated, moved to the front with their gradients.
  float* g = w.g.data();
  int64_t moved = 0;
  for (int64_t k = 0; k < n; ++k) {  // without a branch: whether |f| >= 6 is a coin toss
    const float sigmoid = f[k] >= 0 ? inv[k] : e[k] * inv[k];
    g[moved] = ((label[k] ? 1.f : 0.f) - sigmoid) * alpha;
    w.rows[moved] = w.rows[k];
    moved += !(std::fabs(f[k]) >= kMaxExp && (tree || label[k] == (f[k] >= 0)));
  }
  update_outputs(w.rows.data(), g, moved, h, w.neu1e.data(), dim);
}

// A noise word, exactly from unigram**0.75 (Walker's alias method): a uniform slot, then a coin.
inline int32_t noise_word(const Model& m, Lcg& rng) {
  const uint64_t slot = rng.below(m.noise_size);
  struct { float prob; int32_t alias; } s;
  std::memcpy(&s, m.noise + 2 * slot, sizeof s);
  return rng.uniform24() < s.prob ? static_cast<int32_t>(slot) : s.alias;
}

// Draws the noise words of one example into `out` (the target word first, then `negative` noise
// words).
inline void draw_noise(const Model& m, const Options& o, Worker& w, int32_t word, int32_t* out) {
  if (o.negative > 0) {
    out[0] = word;
    for (int64_t d = 1; d <= o.negative; ++d) {
      int32_t target;
      do target = noise_word(m, w.rng); while (target == word && m.varied);
      out[d] = target;
    }
    // A torchrun job sends only the rows that changed: which output rows the noise words
    // touched is known only here (the input rows and tree nodes follow from the chunk's words).
    if (m.touched)
      for (int64_t d = 0; d <= o.negative; ++d) m.touched[out[d]] = 1;
  }
}

// Asks for an example's output rows early, so that their fetches from memory overlap the work
// before their dot products instead of stalling each one.
inline void prefetch_outputs(const Model& m, const Options& o, const int32_t* out) {
  for (int64_t d = 0; d <= o.negative && o.negative > 0; ++d)
    __builtin_prefetch(m.syn1neg + int64_t(out[d]) * o.dim);
}

// One example: predict `word` from the hidden vector h, adding h's error to neu1e. The noise
// words `outputs` come from draw_noise.
inline void predict(const Model& m, const Options& o, Worker& w, int32_t word, const float* h,
                    float alpha, const int32_t* outputs) {
  const int64_t dim = o.dim;
  double likelihood = 1.0;
  if (o.hs) {
    // word2vec.c's hierarchical softmax: at each inner node on the word's path, predict the
    // branch taken, labelled 1 - code bit. A path's nodes are distinct.
    const int64_t first = m.path[word], n = m.path[word + 1] - first;
    for (int64_t k = 0; k < n; ++k) {
      w.rows[k] = node_row(m, w, m.point[first + k], dim);
      w.labels[k] = m.code[first + k] == 0;
    }
    learn(w, n, h, alpha, dim, likelihood, true);
  }
  // Negative sampling: the target, labelled 1, then the noise words, in runs of distinct words:
  // a noise word drawn twice must see its row as the first draw left it, as in word2vec.c.
  for (int64_t start = 0, end = 0; start <= o.negative && o.negative > 0; start = end) {
    for (; end <= o.negative; ++end) {
      const int32_t out = outputs[end], *run = outputs;
      if (std::find(run + start, run + end, out) != run + end) break;
      w.rows[end - start] = m.syn1neg + int64_t(out) * dim;
      w.labels[end - start] = end == 0;
    }
    learn(w, end - start, h, alpha, dim, likelihood, false);
  }
  // Fold the example into the worker's running product and take a log only when it gets small:
  // one log per many examples rather than per example (skip-gram has ~6 per word).
  if (likelihood < 1e-150) {
    w.loss -= std::log(std::max(likelihood, 1e-300));
  } else {
    w.likelihood *= likelihood;  // >= 1e-300: two factors of at least 1e-150 each
    if (w.likelihood < 1e-150) w.loss -= std::log(w.likelihood), w.likelihood = 1.0;
  }
  ++w.examples;
}

// Trains on one (subsampled) sentence held in w.sen; alpha_at(pos) gives the learning rate,
// asked again every 1,024 positions so that it keeps falling inside a long sentence.
template <typename AlphaAt>
inline void train_sentence(const Model& m, const Options& o, Worker& w, AlphaAt alpha_at,
                           std::mutex& lock) {
  const int64_t n = static_cast<int64_t>(w.sen.size()), dim = o.dim;
  float alpha = alpha_at(0);
  for (int64_t pos = 0; pos < n; ++pos) {
    if ((pos & 1023) == 1023) alpha = alpha_at(pos);
    if (++w.unshared == kShareEvery) share_nodes(m, w, dim, lock);
    // word2vec.c's shrinking window: each target looks 1..window words each way.
    const int64_t reach = o.shrink ? 1 + static_cast<int64_t>(w.rng.below(o.window)) : o.window;
    const int64_t lo = std::max<int64_t>(0, pos - reach), hi = std::min<int64_t>(n - 1, pos + reach);
    if (hi == lo) continue;  // no context word
    const int32_t word = w.sen[pos];
    if (!m.bag_start && pos + o.window + 1 < n) {
      // The row of the word that a window may first reach at the next position.
      const float* next = m.syn0 + int64_t(w.sen[pos + o.window + 1]) * dim;
      const char* row = reinterpret_cast<const char*>(next);
      for (int64_t b = 0; b < dim * 4; b += 64) __builtin_prefetch(row + b);
    }
    if (o.hs && pos + 1 < n) {
      // The next word's path, so that reading its nodes does not wait on memory: a rare word's
      // points and code bits are far from the cache (8% of CBOW's time with hierarchical softmax).
      const int64_t next = m.path[w.sen[pos + 1]];
      __builtin_prefetch(m.point + next);
      __builtin_prefetch(m.code + next);
    }
    if (o.sg) {
      // Skip-gram: each context word's vector predicts the centre word; a word of one row is
      // read in place, a bag's mean is gathered in neu1. Every pair's noise words are drawn
      // first, in the pairs' order (the generator's sequence is the same as drawing each just
      // before its pair), so that the next pair's rows can be fetched while this one trains.
      const int64_t stride = o.negative + 1;
      int32_t* noise = w.outputs.data();
      int64_t pairs = 0;
      for (int64_t c = lo; c <= hi; ++c)
        if (c != pos) draw_noise(m, o, w, word, noise + stride * pairs++);
      prefetch_outputs(m, o, noise);
      for (int64_t c = lo, k = 0; c <= hi; ++c) {
        if (c == pos) continue;
        const int32_t* outputs = noise + stride * k;
        if (++k < pairs) prefetch_outputs(m, o, outputs + stride);
        const Bag bag = bag_of(m, &w.sen[c]);
        const float* h = m.syn0 + int64_t(w.sen[c]) * dim;
        if (m.bag_start) {
          sum_rows(m.syn0, bag.rows, bag.size, w.neu1.data(), dim);
          const float inv = 1.f / static_cast<float>(bag.size);
          for (int64_t i = 0; i < dim; ++i) w.neu1[i] *= inv;
          h = w.neu1.data();
        }
        std::fill(w.neu1e.begin(), w.neu1e.end(), 0.f);
        predict(m, o, w, word, h, alpha, outputs);
        update_rows(m, bag.rows, bag.size, w.neu1e.data(), dim);
      }
      continue;
    }
    // CBOW: the mean (or sum) of the context words' rows predicts the centre word, and every row
    // receives the full error, as in word2vec.c; with bags the mean is over all their rows, as
    // fastText's (Model::computeHidden) and gensim's are.
    draw_noise(m, o, w, word, w.outputs.data());
    prefetch_outputs(m, o, w.outputs.data());
    std::fill(w.neu1e.begin(), w.neu1e.end(), 0.f);
    int32_t* inputs = w.inputs.data();
    int64_t rows = 0;
    for (int64_t c = lo; c <= hi; ++c) {
      if (c == pos) continue;
      const Bag bag = bag_of(m, &w.sen[c]);
      std::copy(bag.rows, bag.rows + bag.size, inputs + rows);
      rows += bag.size;
    }
    sum_rows(m.syn0, inputs, rows, w.neu1.data(), dim);
    if (o.cbow_mean) {
      const float inv = 1.f / static_cast<float>(rows);
      for (int64_t i = 0; i < dim; ++i) w.neu1[i] *= inv;
    }
    predict(m, o, w, word, w.neu1.data(), alpha, w.outputs.data());
    update_rows(m, inputs, rows, w.neu1e.data(), dim);
  }
}

float* rows_or_null(torch::Tensor t, int64_t rows, int64_t dim, bool used, const char* name) {
  if (!used) return nullptr;
  TORCH_CHECK(t.is_contiguous() && t.scalar_type() == torch::kFloat32 && t.dim() == 2 &&
                  t.size(0) == rows && t.size(1) == dim,
              name, ": a contiguous float32 table shaped like syn0");
  return t.data_ptr<float>();
}

}  // namespace

// Trains on the sentences of a chunk of the encoded corpus (sentence i is
// ids[starts[i]:starts[i + 1]]); returns (loss sum, examples). An example is a target word for
// CBOW and a (target, context word) pair for skip-gram. The learning rate falls linearly from
// alpha_start to alpha_end over `total_words`, of which `words_done` were processed before this
// call. Python passes every argument by name (the binding below names them).
std::tuple<double, int64_t> train(
    torch::Tensor syn0, torch::Tensor syn1neg, torch::Tensor syn1, torch::Tensor ids,
    torch::Tensor starts, torch::Tensor keep_prob, torch::Tensor noise, torch::Tensor code,
    torch::Tensor point, torch::Tensor path, int64_t window, int64_t negative, bool hs, bool sg,
    bool cbow_mean, bool shrink_windows, double alpha_start, double alpha_end, double words_done,
    double total_words, int64_t seed, int64_t workers, torch::Tensor touched,
    torch::Tensor bag_rows, torch::Tensor bag_start, int64_t private_nodes, torch::Tensor lockf) {
  TORCH_CHECK(syn0.is_contiguous() && syn0.scalar_type() == torch::kFloat32 && syn0.dim() == 2,
              "syn0: a contiguous float32 (V, D) table, or (V + buckets, D) with bags");
  const bool bags = bag_start.numel() > 0;
  // Word rows: syn0 holds the n-gram buckets' rows after them when words are bags.
  const int64_t rows = bags ? bag_start.numel() - 1 : syn0.size(0), dim = syn0.size(1);
  TORCH_CHECK(rows <= syn0.size(0), "bag_start: one offset per word, and one more");
  TORCH_CHECK(ids.scalar_type() == torch::kInt32 && starts.scalar_type() == torch::kInt64 &&
                  ids.is_contiguous() && starts.is_contiguous(),
              "ids: contiguous int32, starts: contiguous int64");
  TORCH_CHECK(keep_prob.scalar_type() == torch::kFloat32 && keep_prob.is_contiguous() &&
                  keep_prob.numel() == rows,
              "keep_prob: contiguous float32, one per word");
  TORCH_CHECK(starts.numel() >= 1, "starts: the sentence offsets, beginning with 0");
  const int64_t s_begin = 0, s_end = starts.numel() - 1;
  TORCH_CHECK(window >= 1 && negative >= 0 && workers >= 1 && (hs || negative > 0),
              "window, workers >= 1, negative >= 0, and hs or negative sampling");
  TORCH_CHECK(private_nodes >= 0, "private_nodes: >= 0");
  TORCH_CHECK(lockf.numel() == 0 || (lockf.scalar_type() == torch::kFloat32 &&
                                     lockf.is_contiguous() && lockf.numel() == syn0.size(0)),
              "lockf: empty, or contiguous float32 with one factor per row of syn0");
  Model m{};
  m.lockf = lockf.numel() ? lockf.data_ptr<float>() : nullptr;
  m.syn0 = syn0.data_ptr<float>();
  m.syn1neg = rows_or_null(syn1neg, rows, dim, negative > 0, "syn1neg");
  m.syn1 = rows_or_null(syn1, rows, dim, hs, "syn1");
  m.keep = keep_prob.data_ptr<float>();
  int64_t widest = 1;  // the largest bag
  if (bags) {
    TORCH_CHECK(bag_rows.scalar_type() == torch::kInt32 && bag_start.scalar_type() == torch::kInt64 &&
                    bag_rows.is_contiguous() && bag_start.is_contiguous() &&
                    bag_start[-1].item<int64_t>() == bag_rows.numel(),
                "bag_rows: contiguous int32, bag_start: contiguous int64 offsets into it");
    m.bag_rows = bag_rows.data_ptr<int32_t>();
    m.bag_start = bag_start.data_ptr<int64_t>();
    for (int64_t word = 0; word < rows; ++word)
      widest = std::max(widest, m.bag_start[word + 1] - m.bag_start[word]);
    const int32_t* r = m.bag_rows;
    TORCH_CHECK(std::all_of(r, r + bag_rows.numel(),
                            [&](int32_t x) { return x >= 0 && x < syn0.size(0); }),
                "bag_rows: every row inside syn0");
  }
  if (negative > 0) {
    TORCH_CHECK(noise.scalar_type() == torch::kInt32 && noise.is_contiguous() &&
                    noise.dim() == 2 && noise.size(0) == rows && noise.size(1) == 2,
                "noise: contiguous int32 (V, 2), each word's alias slot (kernels.noise_slots)");
    m.noise = noise.data_ptr<int32_t>();
    m.noise_size = static_cast<uint64_t>(rows);
    m.varied = rows > 1;
    TORCH_CHECK(touched.numel() == 0 || (touched.scalar_type() == torch::kUInt8 &&
                                         touched.is_contiguous() && touched.numel() == rows),
                "touched: empty, or contiguous uint8 with one entry per word");
    m.touched = touched.numel() ? touched.data_ptr<uint8_t>() : nullptr;
  }
  int64_t deepest = 0;  // the longest path in the tree
  if (hs) {
    TORCH_CHECK(code.scalar_type() == torch::kInt8 && point.scalar_type() == torch::kInt32 &&
                    path.scalar_type() == torch::kInt64 && path.numel() == rows + 1 &&
                    code.is_contiguous() && point.is_contiguous() && path.is_contiguous(),
                "code int8, point int32, path int64 with V + 1 offsets");
    m.code = code.data_ptr<int8_t>();
    m.point = point.data_ptr<int32_t>();
    m.path = path.data_ptr<int64_t>();
    for (int64_t word = 0; word < rows; ++word)
      deepest = std::max(deepest, m.path[word + 1] - m.path[word]);
  }
  const Options o{dim, window, negative, hs, sg, cbow_mean, shrink_windows};
  const int32_t* tok = ids.data_ptr<int32_t>();
  const int64_t* start = starts.data_ptr<int64_t>();

  // Split the sentences into one contiguous share per thread, balanced by words: each cut at
  // the sentence start nearest its share's end (the one before it left the last thread up to a
  // sentence of 10,000 words more than the others, which then waited for it).
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(workers, s_end - s_begin));
  std::vector<int64_t> cut(threads + 1, s_begin);
  const int64_t first = start[s_begin], words = start[s_end] - first;
  for (int64_t t = 1; t < threads; ++t) {
    const int64_t goal = first + words * t / threads;
    int64_t s = std::upper_bound(start + cut[t - 1], start + s_end, goal) - start - 1;
    if (s + 1 < s_end && start[s + 1] - goal < goal - start[s]) ++s;
    cut[t] = std::max(s, cut[t - 1]);
  }
  cut[threads] = s_end;

  std::atomic<int64_t> progress{0};
  std::mutex lock;  // one merge of private tree nodes at a time
  const int64_t own_nodes = hs && threads > 1 ? std::min(private_nodes, rows - 1) : 0;
  std::vector<Worker> state(threads);
  auto work = [&](int64_t t) {
    Worker& w = state[t];
    w.rng = Lcg{static_cast<uint64_t>(seed) * 1000003ULL + static_cast<uint64_t>(t) * 7919ULL + 1};
    w.neu1.assign(dim, 0.f);
    w.neu1e.assign(dim, 0.f);
    w.outputs.assign(2 * window * (negative + 1), 0);  // skip-gram: a position's pairs
    w.inputs.assign(2 * window * widest, 0);
    const int64_t outputs = std::max(negative + 1, deepest);
    w.rows.assign(outputs, nullptr);
    w.labels.assign(outputs, 0);
    for (auto* scratch : {&w.f, &w.e, &w.inv, &w.g}) scratch->assign(outputs, 0.f);
    if (own_nodes > 0) {
      w.own_first = rows - 1 - own_nodes;
      w.own.assign(m.syn1 + w.own_first * dim, m.syn1 + (rows - 1) * dim);
      w.seen = w.own;
    }
    int64_t local_words = 0;
    // alpha follows the words processed by all threads; a thread publishes its count every
    // 10,000 words, as word2vec.c does, rather than touching the shared counter per example.
    auto alpha_now = [&](int64_t within) {
      if (local_words >= 10000) progress += local_words, local_words = 0;
      const double done = words_done + progress.load() + local_words + within;
      const double frac = std::min(1.0, done / std::max(total_words, 1.0));
      return static_cast<float>(alpha_start - (alpha_start - alpha_end) * frac);
    };
    for (int64_t s = cut[t]; s < cut[t + 1]; ++s) {
      w.sen.clear();
      for (int64_t i = start[s]; i < start[s + 1]; ++i) {
        const int32_t word = tok[i];
        if (m.keep[word] >= 1.f || m.keep[word] > w.rng.uniform()) w.sen.push_back(word);
      }
      const int64_t sentence_words = start[s + 1] - start[s];
      const int64_t kept = std::max<int64_t>(1, static_cast<int64_t>(w.sen.size()));
      train_sentence(m, o, w, [&](int64_t pos) { return alpha_now(sentence_words * pos / kept); },
                     lock);
      local_words += sentence_words;
    }
    share_nodes(m, w, dim, lock);
    progress += local_words;
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
  for (const Worker& w : state) loss += w.loss - std::log(w.likelihood), n += w.examples;
  return {loss, n};
}

// word2vec.c's CreateBinaryTree over counts sorted in descending order: two cursors, one moving
// left over the leaves, one right over the inner nodes as they are made, so that ties break as
// the C tool's do. Returns (code, point, path) as `corpus.tables.huffman_tree` does, in
// O(V) memory of plain arrays (the Python transcription holds lists of Python ints: gigabytes at
// 10M words).
std::vector<torch::Tensor> huffman(torch::Tensor counts) {
  const auto sorted = counts.to(torch::kInt64).contiguous();
  const int64_t n = sorted.size(0);
  const int64_t* leaf_count = sorted.data_ptr<int64_t>();
  std::vector<int64_t> count(2 * n, INT64_MAX / 4), parent(2 * n, 0);
  std::vector<int8_t> binary(2 * n, 0);
  std::copy(leaf_count, leaf_count + n, count.begin());
  int64_t leaf = n - 1, inner = n;
  for (int64_t a = 0; a < n - 1; ++a) {
    int64_t picks[2];
    for (int64_t& pick : picks)
      pick = (leaf >= 0 && count[leaf] < count[inner]) ? leaf-- : inner++;
    count[n + a] = count[picks[0]] + count[picks[1]];
    parent[picks[0]] = parent[picks[1]] = n + a;
    binary[picks[1]] = 1;
  }
  // A parent is made after its children, so one pass from the root down gives every depth.
  std::vector<int64_t> depth(2 * n - 1, 0);
  for (int64_t node = 2 * n - 3; node >= 0; --node) depth[node] = depth[parent[node]] + 1;
  auto path = torch::zeros({n + 1}, torch::kInt64);
  int64_t* offsets = path.data_ptr<int64_t>();
  for (int64_t w = 0; w < n; ++w) offsets[w + 1] = offsets[w] + depth[w];
  auto code = torch::empty({offsets[n]}, torch::kInt8);
  auto point = torch::empty({offsets[n]}, torch::kInt32);
  int8_t* bits = code.data_ptr<int8_t>();
  int32_t* nodes = point.data_ptr<int32_t>();
  for (int64_t w = 0; w < n; ++w) {  // walk up from the leaf, filling from the path's end
    int64_t node = w;
    for (int64_t at = offsets[w + 1] - 1; at >= offsets[w]; --at) {
      bits[at] = binary[node];
      nodes[at] = static_cast<int32_t>(parent[node] - n);
      node = parent[node];
    }
  }
  return {code, point, path};
}

// Walker's alias table for probabilities `p` (V,), built by Vose's method as
// `corpus.tables.noise_alias` builds it, slot for slot: the words below their fair share 1/V
// take their remainder from one above it, which then stands in the queue of those below if it
// fell below. Returns (prob float32, alias int32).
std::vector<torch::Tensor> alias_table(torch::Tensor p) {
  const auto probs = p.to(torch::kFloat64).contiguous();
  const int64_t n = probs.size(0);
  const double* share = probs.data_ptr<double>();
  std::vector<double> scaled(n);
  std::vector<int64_t> small, large;
  for (int64_t i = 0; i < n; ++i) {
    scaled[i] = share[i] * n;
    (scaled[i] < 1.0 ? small : large).push_back(i);
  }
  auto prob = torch::ones({n}, torch::kFloat32);
  auto alias = torch::arange(n, torch::kInt32);
  float* keep = prob.data_ptr<float>();
  int32_t* other = alias.data_ptr<int32_t>();
  while (!small.empty() && !large.empty()) {
    const int64_t s = small.back(), l = large.back();
    small.pop_back();
    keep[s] = static_cast<float>(scaled[s]);
    other[s] = static_cast<int32_t>(l);
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) large.pop_back(), small.push_back(l);
  }
  return {prob, alias};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("alias_table", &alias_table, "Walker's alias table of a distribution (Vose's method)",
        py::arg("p"), py::call_guard<py::gil_scoped_release>());
  m.def("huffman", &huffman, "word2vec.c's Huffman tree over counts in descending order",
        py::arg("counts"), py::call_guard<py::gil_scoped_release>());
  m.def("train", &train,
        "word2vec.c's CBOW/skip-gram loop (negative sampling and/or hierarchical softmax) with "
        "lock-free threads",
        py::arg("syn0"), py::arg("syn1neg"), py::arg("syn1"), py::arg("ids"), py::arg("starts"),
        py::arg("keep_prob"), py::arg("noise"), py::arg("code"), py::arg("point"),
        py::arg("path"), py::kw_only(), py::arg("window"), py::arg("negative"), py::arg("hs"),
        py::arg("sg"), py::arg("cbow_mean"), py::arg("shrink_windows"), py::arg("alpha_start"),
        py::arg("alpha_end"), py::arg("words_done"), py::arg("total_words"), py::arg("seed"),
        py::arg("workers"), py::arg("touched"), py::arg("bag_rows"), py::arg("bag_start"),
        py::arg("private_nodes") = 0, py::arg("lockf") = torch::empty({0}),
        py::call_guard<py::gil_scoped_release>());
}
