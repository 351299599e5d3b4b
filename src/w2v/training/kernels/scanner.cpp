// Splitting and counting a corpus file's bytes in one pass: the compiled twin of
// corpus.readers (decoding, str.split(), cutting over-long tokens and sentences) followed by
// corpus.counting (a provisional id per new word, counts), for corpus.encoding.scan.
//
// The Python path holds a dict entry and a str object per distinct word and a dict lookup per
// token (~400 ns at ten million words); here a word is its bytes in one arena and an
// open-addressing table of 8-byte slots, and a token costs a hash and, for frequent words, no
// cache miss. The result is the Python path's to the byte: the same words (invalid UTF-8
// replaced by U+FFFD as Python's "replace" handler does, one per maximal invalid subpart), the
// same whitespace (what str.split() splits at), the same cuts, and the same counts of what was
// replaced and cut (tests/test_scanner.py compares the two on random bytes).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace {

// The code points str.split() splits at (CPython's Py_UNICODE_ISSPACE).
bool is_space(uint32_t c) {
  if (c < 0x80) return (c >= 9 && c <= 13) || (c >= 28 && c <= 32);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// One step of UTF-8 decoding at p (*p >= 0x80) by the Unicode standard's "maximal subpart"
// practice, which CPython's decoder follows: a valid sequence is one code point; otherwise the
// longest valid prefix (at least one byte) is replaced by one U+FFFD. `incomplete`: input ran
// out inside a valid prefix, which the next block may complete.
struct Step {
  int32_t code;  // -1: invalid
  int length;
  bool incomplete;
};

Step decode(const uint8_t* p, const uint8_t* end) {
  const uint8_t lead = p[0];
  int need;
  uint8_t lo = 0x80, hi = 0xBF;
  uint32_t code;
  if (lead < 0xC2 || lead > 0xF4) return {-1, 1, false};  // stray continuation, overlong, >U+10FFFF
  if (lead < 0xE0) {
    need = 1, code = lead & 0x1F;
  } else if (lead < 0xF0) {
    need = 2, code = lead & 0x0F;
    if (lead == 0xE0) lo = 0xA0;  // overlong
    if (lead == 0xED) hi = 0x9F;  // surrogates
  } else {
    need = 3, code = lead & 0x07;
    if (lead == 0xF0) lo = 0x90;  // overlong
    if (lead == 0xF4) hi = 0x8F;  // above U+10FFFF
  }
  for (int i = 1; i <= need; ++i) {
    if (p + i >= end) return {-1, i, true};
    const uint8_t c = p[i];
    if (c < lo || c > hi) return {-1, i, false};
    lo = 0x80, hi = 0xBF;
    code = (code << 6) | (c & 0x3F);
  }
  return {static_cast<int32_t>(code), need + 1, false};
}

// FNV-1a, 64 bits: short words, no alignment to care about, and good enough spread for a table
// that compares whole words on a tag match anyway.
uint64_t hash_bytes(const char* s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<uint8_t>(s[i])) * 1099511628211ull;
  return h;
}

// A word of the table: its count and where its bytes are, 16 bytes in all (a table holds
// nearly every distinct word of the corpus, once per scanning thread).
struct Entry {
  int64_t count;
  uint64_t where;  // offset in the arena << 24 | length (a word is at most ~4000 bytes)
  size_t offset() const { return where >> 24; }
  size_t length() const { return where & 0xFFFFFF; }
};
static_assert(sizeof(Entry) == 16, "four entries a cache line");

struct Pending {
  int64_t offset;  // in words_
  int64_t length;  // -1: a sentence ends here
};

class Scanner {
 public:
  // by_line: a newline ends a sentence (LineSentence), else the file is one stream (Text8Corpus);
  // a sentence is cut every max_sentence words; a token keeps its first max_word characters;
  // max_lines >= 0 stops after that many lines; frozen: only words added beforehand get ids,
  // the others are read and dropped (encoding with a fixed vocabulary); max_words >= 0 prunes
  // as gensim's max_vocab_size does (prune()), after which no more ids are given.
  Scanner(bool by_line, int64_t max_sentence, int64_t max_word, int64_t max_lines, bool frozen,
          int64_t max_words)
      : by_line_(by_line), max_sentence_(max_sentence), max_word_(max_word),
        max_lines_(max_lines), frozen_(frozen), max_words_(max_words), slots_(1 << 16, 0) {
    if (max_sentence < 1 || max_word < 1) throw std::invalid_argument("limits must be >= 1");
    if (max_word > (1 << 22)) throw std::invalid_argument("max_word: a word's bytes take 24 bits");
    done_ = max_lines_ == 0;
  }

  // Words in this order take ids 0, 1, ... (a fixed vocabulary's, as UTF-8 bytes).
  void add(const std::vector<std::string>& words) {
    for (const auto& w : words) find_or_add(w.data(), w.size(), true);
  }

  // The ids of the tokens that `data` completes and the ends of the sentences it completes
  // (as numbers of ids since the start); a word or UTF-8 sequence it ends inside waits for the
  // next block, or for finish().
  py::tuple feed(const py::bytes& data) {
    char* p;
    Py_ssize_t n;
    if (PyBytes_AsStringAndSize(data.ptr(), &p, &n) != 0) throw py::error_already_set();
    {
      py::gil_scoped_release unlocked;
      if (partial_.empty()) {
        run(reinterpret_cast<const uint8_t*>(p), reinterpret_cast<const uint8_t*>(p) + n, false);
      } else {  // a block ended inside a UTF-8 sequence: at most 3 bytes, joined to this one
        std::string joined = std::move(partial_);
        partial_.clear();
        joined.append(p, n);
        const auto* q = reinterpret_cast<const uint8_t*>(joined.data());
        run(q, q + joined.size(), false);
      }
      look_up();
    }
    return take();
  }

  // The end of the input: the last word and sentence, an unfinished sequence as one U+FFFD.
  py::tuple finish() {
    if (!done_) {
      std::string rest = std::move(partial_);
      partial_.clear();
      const auto* q = reinterpret_cast<const uint8_t*>(rest.data());
      run(q, q + rest.size(), true);
      end_word();
      end_sentence();
      look_up();
    }
    return take();
  }

  // Takes the other scanner's words into this one (summing counts, new words appended in the
  // other's order); returns its ids' new ids.
  py::array_t<int64_t> absorb(const Scanner& other) {
    py::array_t<int64_t> map(other.size());
    auto* out = map.mutable_data();
    for (int64_t id = 0; id < other.size(); ++id) {
      const std::string w = other.word(id);
      const int32_t mine = find_or_add(w.data(), w.size(), true);
      entries_[mine].count += other.entries_[id].count;
      out[id] = mine;
    }
    return map;
  }

  // (ids, words, counts) of the words counted at least min_count times, in id order.
  py::tuple frequent(int64_t min_count) const {
    std::vector<int64_t> ids;
    for (int64_t id = 0; id < size(); ++id)
      if (entries_[id].count >= min_count) ids.push_back(id);
    py::array_t<int64_t> out_ids(ids.size()), out_counts(ids.size());
    py::list words(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      out_ids.mutable_data()[i] = ids[i];
      out_counts.mutable_data()[i] = entries_[ids[i]].count;
      const std::string w = word(ids[i]);
      PyObject* s = PyUnicode_DecodeUTF8(w.data(), w.size(), "surrogatepass");
      if (s == nullptr) throw py::error_already_set();
      PyList_SET_ITEM(words.ptr(), i, s);
    }
    return py::make_tuple(out_ids, words, out_counts);
  }

  int64_t size() const { return static_cast<int64_t>(entries_.size()); }
  int64_t tokens = 0;         // words read, dropped ones included
  int64_t decode_errors = 0;  // U+FFFD in the decoded text, as the Python reader counts them
  int64_t truncated = 0;      // tokens longer than max_word characters
  bool done() const { return done_; }
  bool pruned() const { return pruned_; }

 private:
  void run(const uint8_t* p, const uint8_t* end, bool final) {
    while (p < end && !done_) {
      if (*p < 0x80) {
        const uint8_t* q = p;
        while (q < end && *q < 0x80 && !is_space(*q)) ++q;
        if (q > p) {  // a run of ASCII word bytes: one append
          append(reinterpret_cast<const char*>(p), q - p, q - p);
          p = q;
          continue;
        }
        end_word();
        if (*p == '\n' && by_line_) end_line();
        ++p;
        continue;
      }
      const Step s = decode(p, end);
      if (s.incomplete && !final) {
        partial_.assign(reinterpret_cast<const char*>(p), end - p);
        return;
      }
      if (s.code < 0) {
        append(kReplacement, 3, 1);
        ++decode_errors;
      } else if (is_space(s.code)) {
        end_word();
      } else {
        decode_errors += s.code == 0xFFFD;
        append(reinterpret_cast<const char*>(p), s.length, 1);
      }
      p += s.length;
    }
  }

  // `chars` characters in `n` bytes (one character, or a run of ASCII) added to the current
  // word, as many as fit under max_word.
  void append(const char* s, int64_t n, int64_t chars) {
    const int64_t room = max_word_ - chars_;
    if (chars > room) {
      over_ = true;
      if (room <= 0) return;
      n = chars = room;  // only an ASCII run can overflow a word with room left
    }
    words_.append(s, n);
    chars_ += chars;
  }

  // Words are looked up a batch at a time (look_up), so that the table's cache misses for the
  // words ahead overlap: a Zipf corpus's rare words miss every time.
  void end_word() {
    if (chars_ == 0) return;
    ++tokens;
    truncated += over_;
    pending_.push_back({word_start_, static_cast<int64_t>(words_.size()) - word_start_});
    word_start_ = static_cast<int64_t>(words_.size());
    chars_ = 0, over_ = false;
    if (++in_sentence_ == max_sentence_) end_sentence();
    if (pending_.size() >= kBatch) look_up();
  }

  void end_sentence() {
    if (in_sentence_ == 0) return;
    pending_.push_back({0, -1});
    in_sentence_ = 0;
  }

  void end_line() {
    end_sentence();
    if (max_lines_ >= 0 && ++lines_ >= max_lines_) done_ = true;
  }

  static constexpr size_t kBatch = 1024;
  // How many words ahead the slot, the entry and the word's bytes are prefetched: each stage
  // reads what the one before fetched.
  static constexpr size_t kSlotsAhead = 16, kEntriesAhead = 10, kBytesAhead = 5;

  void look_up() {
    const size_t n = pending_.size();
    hashes_.resize(n);
    for (size_t i = 0; i < n; ++i)
      if (pending_[i].length >= 0)
        hashes_[i] = hash_bytes(words_.data() + pending_[i].offset, pending_[i].length);
    for (size_t i = 0; i < n; ++i) {
      const size_t mask = slots_.size() - 1;
      if (i + kSlotsAhead < n && pending_[i + kSlotsAhead].length >= 0)
        __builtin_prefetch(&slots_[hashes_[i + kSlotsAhead] & mask]);
      if (i + kEntriesAhead < n && pending_[i + kEntriesAhead].length >= 0) {
        const uint64_t slot = slots_[hashes_[i + kEntriesAhead] & mask];
        if (slot != 0) __builtin_prefetch(&entries_[(slot & 0xFFFFFFFFu) - 1]);
      }
      if (i + kBytesAhead < n && pending_[i + kBytesAhead].length >= 0) {
        const uint64_t slot = slots_[hashes_[i + kBytesAhead] & mask];
        if (slot != 0)
          __builtin_prefetch(arena_.data() + entries_[(slot & 0xFFFFFFFFu) - 1].offset());
      }
      const Pending& w = pending_[i];
      if (w.length < 0) {  // a sentence ends here
        if (max_words_ >= 0 && size() > max_words_) prune();
        if (!pruned_) ends_.push_back(emitted_ + static_cast<int64_t>(ids_.size()));
        continue;
      }
      const int32_t id = find_or_add(words_.data() + w.offset, w.length, !frozen_, hashes_[i]);
      if (id >= 0) {
        if (!pruned_) ids_.push_back(id);
        ++entries_[id].count;
      }
    }
    pending_.clear();
    words_.erase(0, word_start_);  // what is left is the word being read
    word_start_ = 0;
  }

  py::tuple take() {
    py::array_t<int32_t> ids(ids_.size());
    std::memcpy(ids.mutable_data(), ids_.data(), ids_.size() * sizeof(int32_t));
    py::array_t<int64_t> ends(ends_.size());
    std::memcpy(ends.mutable_data(), ends_.data(), ends_.size() * sizeof(int64_t));
    emitted_ += static_cast<int64_t>(ids_.size());
    ids_.clear();
    ends_.clear();
    return py::make_tuple(ids, ends);
  }

  std::string word(int64_t id) const {
    return arena_.substr(entries_[id].offset(), entries_[id].length());
  }

  bool same(const Entry& e, const char* w, size_t n) const {
    return e.length() == n && std::memcmp(arena_.data() + e.offset(), w, n) == 0;
  }

  // The word's id; if it has none, a new one when `insert`, else -1.
  int32_t find_or_add(const char* w, size_t n, bool insert) {
    return find_or_add(w, n, insert, hash_bytes(w, n));
  }

  int32_t find_or_add(const char* w, size_t n, bool insert, uint64_t h) {
    const uint64_t tag = h >> 32;
    const size_t mask = slots_.size() - 1;
    size_t i = h & mask;
    for (; slots_[i] != 0; i = (i + 1) & mask) {
      if ((slots_[i] >> 32) != tag) continue;
      const int32_t id = static_cast<int32_t>((slots_[i] & 0xFFFFFFFFu) - 1);
      if (same(entries_[id], w, n)) return id;
    }
    if (!insert) return -1;
    const int64_t id = size();
    if (id >= INT32_MAX - 1)
      throw std::overflow_error("more than 2^31 distinct words: give max_vocab_size");
    if (entries_.size() == entries_.capacity())  // grow by half, not double: less left unused
      entries_.reserve(entries_.size() + entries_.size() / 2 + 1024);
    entries_.push_back({0, static_cast<uint64_t>(arena_.size()) << 24 | n});
    arena_.append(w, n);
    slots_[i] = (tag << 32) | static_cast<uint64_t>(id + 1);
    if (10 * size() > 7 * static_cast<int64_t>(slots_.size())) grow();
    return static_cast<int32_t>(id);
  }

  // gensim's prune_vocab, checked after each sentence as gensim does: drop every word seen at
  // most min_reduce times, then raise min_reduce by one. The survivors keep their order and
  // are numbered afresh, so the ids given before mean nothing now: none are given after.
  void prune() {
    std::vector<Entry> kept;
    std::string arena;
    for (const Entry& e : entries_) {
      if (e.count <= min_reduce_) continue;
      kept.push_back({e.count, static_cast<uint64_t>(arena.size()) << 24 | e.length()});
      arena.append(arena_, e.offset(), e.length());
    }
    entries_.swap(kept);
    arena_.swap(arena);
    place(slots_.size());
    ++min_reduce_;
    pruned_ = true;
    ids_.clear();
    ends_.clear();
  }

  void grow() { place(2 * slots_.size()); }  // at 70% full

  void place(size_t capacity) {  // every word placed anew in `capacity` slots
    std::vector<uint64_t> slots(capacity, 0);
    const size_t mask = slots.size() - 1;
    for (int64_t id = 0; id < size(); ++id) {
      const Entry& e = entries_[id];
      const uint64_t h = hash_bytes(arena_.data() + e.offset(), e.length());
      size_t i = h & mask;
      while (slots[i] != 0) i = (i + 1) & mask;
      slots[i] = ((h >> 32) << 32) | static_cast<uint64_t>(id + 1);
    }
    slots_.swap(slots);
  }

  const bool by_line_;
  const int64_t max_sentence_, max_word_, max_lines_;
  const bool frozen_;
  const int64_t max_words_;
  int64_t min_reduce_ = 1;
  bool done_ = false, pruned_ = false;
  std::vector<uint64_t> slots_;  // (hash >> 32) << 32 | (id + 1); 0: empty
  std::string arena_;            // every word's bytes, end to end
  std::vector<Entry> entries_;   // (V,)
  std::string words_;            // the words read since the last look_up, decoded and cut, and
  int64_t word_start_ = 0;       // where among them the one being read starts;
  int64_t chars_ = 0;            // its characters so far
  bool over_ = false;            // whether it was longer than max_word
  std::vector<Pending> pending_;  // the words (and sentence ends) waiting for look_up
  std::vector<uint64_t> hashes_;
  std::string partial_;          // a UTF-8 sequence the last block ended inside
  int64_t in_sentence_ = 0, lines_ = 0, emitted_ = 0;
  std::vector<int32_t> ids_;     // since the last take()
  std::vector<int64_t> ends_;
};

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  py::class_<Scanner>(m, "Scanner", "Splits and counts a corpus file's bytes (see scanner.cpp)")
      .def(py::init<bool, int64_t, int64_t, int64_t, bool, int64_t>(), py::arg("by_line"),
           py::arg("max_sentence_length"), py::arg("max_word"), py::arg("max_lines") = -1,
           py::arg("frozen") = false, py::arg("max_words") = -1)
      .def("add", &Scanner::add)
      .def("feed", &Scanner::feed)
      .def("finish", &Scanner::finish)
      .def("absorb", &Scanner::absorb)
      .def("frequent", &Scanner::frequent)
      .def("__len__", &Scanner::size)
      .def_property_readonly("done", &Scanner::done)
      .def_property_readonly("pruned", &Scanner::pruned)
      .def_readonly("tokens", &Scanner::tokens)
      .def_readonly("decode_errors", &Scanner::decode_errors)
      .def_readonly("truncated", &Scanner::truncated);
}
