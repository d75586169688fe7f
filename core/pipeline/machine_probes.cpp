// core/pipeline/machine_probes.cpp
#include "pipeline/machine_probes.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "exec/attention.h"
#include "exec/matmul_math.h"
#include "model/file_io.h"
#include "quant/column_quantize.h"
#include "quant/observer.h"

namespace llmc::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The median of repeated calls of `work` (at least three, until `budget` seconds have passed), after one
// warm-up call (first-call costs: kernel selection, page faults). The median: one call that another process
// interrupts, or that catches the cores idle for a moment, does not set the rate the whole run will see.
template <class Work>
double seconds_per_call(Work&& work, double budget = 0.02) {
  work();
  const auto start = Clock::now();
  std::vector<double> calls;
  while (calls.size() < 3 || (seconds_since(start) < budget && calls.size() < 1000)) {
    const auto call = Clock::now();
    work();
    calls.push_back(seconds_since(call));
  }
  std::nth_element(calls.begin(), calls.begin() + static_cast<std::ptrdiff_t>(calls.size() / 2), calls.end());
  return calls[calls.size() / 2];
}

at::TensorOptions options_of(at::ScalarType dtype) { return at::TensorOptions().dtype(dtype); }

// A Linear as the layers run it (exec::linear_in, in the run's matmul math), on at most 128 tokens x 512 outputs
// x 2048 inputs of each shape, so that a 1B model's probes stay small: the rate hardly changes beyond those sizes.
double linear_rate(const ProbeWork& work, int64_t in, int64_t out) {
  const int64_t m = std::clamp<int64_t>(work.tokens, 1, 128), n = std::min<int64_t>(out, 512), k = std::min<int64_t>(in, 2048);
  const at::Tensor x = at::randn({m, k}, options_of(work.dtype)), w = at::randn({n, k}, options_of(work.dtype));
  return 2.0 * static_cast<double>(m * n * k) /
         seconds_per_call([&] { (void)exec::linear_in(work.matmul, x, w, at::Tensor()); });
}

// exec::eager_attention on up to 2 heads of up to 512 tokens, per head and per tokens^2.
double attention_seconds(const ProbeWork& work) {
  const int64_t t = std::clamp<int64_t>(work.tokens, 1, 512), h = std::clamp<int64_t>(work.heads, 1, 2);
  const auto sample = [&] { return at::randn({1, h, t, work.head_dim}, options_of(work.dtype)); };
  const at::Tensor q = sample(), k = sample(), v = sample();
  const at::Tensor allowed = at::ones({t, t}, options_of(at::kBool)).tril().view({1, 1, t, t});
  const double scale = 1.0 / std::sqrt(static_cast<double>(work.head_dim));
  const double seconds = seconds_per_call([&] { (void)exec::eager_attention(q, k, v, allowed, scale, work.matmul); });
  return seconds / static_cast<double>(h * t * t);
}

// A Hessian-sized float32 X^T X on up to 256 tokens.
double fp32_rate(int64_t columns, int64_t tokens) {
  const int64_t n = std::min<int64_t>(columns, 1024), t = std::clamp<int64_t>(tokens, 64, 256);
  const at::Tensor x = at::randn({t, n});
  return 2.0 * static_cast<double>(t * n * n) / seconds_per_call([&] { (void)x.t().matmul(x); });
}

// GPTQ's factorization (Cholesky, inverse from it, upper Cholesky) of positive definite matrices of up to
// 256 and 512 columns, and the exponent of a power law through both: LAPACK's speed grows with the size, so
// the time grows more slowly than n^3 until it reaches the matmul rate (the estimate's floor).
void probe_factorization(int64_t columns, MachineRates& rates) {
  const auto seconds = [](int64_t n) {
    const at::Tensor x = at::randn({2 * n, n});
    const at::Tensor spd = x.t().matmul(x) + at::eye(n) * static_cast<double>(n);
    return seconds_per_call([&] {
      const at::Tensor lower = at::linalg_cholesky(spd);
      (void)at::linalg_cholesky(at::cholesky_inverse(lower), /*upper=*/true);
    });
  };
  const int64_t n = std::clamp<int64_t>(columns, 64, 512);
  const double small = seconds(n / 2);
  rates.factor_columns = n;
  rates.factor_seconds = seconds(n);
  rates.factor_exponent = std::clamp(std::log2(rates.factor_seconds / small), 2.0, 3.0);
}

// The in-block update of GPTQ's and SparseGPT's column loops: after column i, every later column j of the
// block (a row of `work`) gets w_j -= e * h_ij; 2 FLOPs per weight per pair.
double update_rate(int64_t rows) {
  constexpr int64_t kBlock = 128;
  const int64_t r = std::clamp<int64_t>(rows, 64, 4096);
  at::Tensor work = at::randn({kBlock, r});
  const at::Tensor errors = at::randn({r}), factor = at::randn({kBlock, kBlock}) * 1e-3;
  float* const w = work.data_ptr<float>();
  const float* const e = errors.const_data_ptr<float>();
  const auto h = factor.accessor<float, 2>();
  const int64_t grain = std::max<int64_t>(1, 32768 / r);
  const double seconds = seconds_per_call([&] {
    for (int64_t i = 0; i < kBlock; ++i)
      at::parallel_for(i + 1, kBlock, grain, [&](int64_t begin, int64_t end) {
        for (int64_t j = begin; j < end; ++j)
          for (int64_t x = 0; x < r; ++x) {
            const float update = e[x] * h[i][j];
            w[j * r + x] -= update;
          }
      });
  });
  return static_cast<double>(r * kBlock * (kBlock - 1)) / seconds;
}

// Seconds per column of the host's fake-quantization of one weight column, as GPTQ calls it.
double column_seconds(const QuantizedWeightSample& sample, const quant::QParams& qparams) {
  const at::Tensor column = sample.weight.select(1, 0).to(at::kFloat).unsqueeze(1).contiguous();
  const at::Tensor index = at::zeros({1}, options_of(at::kLong));
  return seconds_per_call([&] { (void)quant::fake_quantize_columns(column, index, qparams, *sample.scheme.scheme.weights); },
                          0.005);
}

std::optional<at::Tensor> global_scale(const at::Tensor& weight, const recipe::QuantArgs& args) {
  if (args.strategy != recipe::Strategy::tensor_group) return std::nullopt;
  auto global = quant::compute_fused_global_scale(std::span<const at::Tensor>(&weight, 1), args);
  return global ? std::optional<at::Tensor>(std::move(*global)) : std::nullopt;
}

// Per weight element: the qparams (quant_weight) and the quantized, packed tensors (the unit's write).
void probe_quantization(const QuantizedWeightSample& sample, MachineRates& rates) {
  const recipe::QuantArgs& args = *sample.scheme.scheme.weights;
  const auto global = global_scale(sample.weight, args);
  auto qparams = quant::compute_weight_qparams(sample.weight, args, global);
  if (!qparams) return;  // the run reports the error; the plan counts no quantization
  RecordedQuantization recorded = sample.scheme;
  recorded.weight_qparams = *qparams;
  const auto elements = static_cast<double>(sample.weight.numel());
  const auto observe = [&] { (void)quant::compute_weight_qparams(sample.weight, args, global); };
  rates.qparams_seconds = seconds_per_call(observe, 0.01) / elements;
  rates.pack_seconds = seconds_per_call([&] { (void)quantized_tensors("probe", sample.weight, recorded); }, 0.01) / elements;
  rates.column_seconds = column_seconds(sample, *qparams);
}

// One small ATen op on a weight column: SparseGPT's column loop makes a dozen of them per column.
double op_seconds(int64_t rows) {
  const at::Tensor a = at::randn({std::max<int64_t>(rows, 1)}), b = at::randn({std::max<int64_t>(rows, 1)});
  return seconds_per_call([&] { (void)a.sub(b); }, 0.005);
}

double memcpy_rate() {
  constexpr size_t kBytes = 8 << 20;
  std::vector<char> from(kBytes, 1), to(kBytes);
  const double seconds = seconds_per_call([&] { std::memcpy(to.data(), from.data(), kBytes); }, 0.005);
  volatile char last = to.back();  // the copies are read: no compiler may drop them
  (void)last;
  return static_cast<double>(kBytes) / seconds;
}

// Writing a new file through the page cache, as the shards are written: 16 MB in one pwrite to a file made
// in `directory` and removed at once. The memcpy rate where no file can be made there.
double write_rate(const std::filesystem::path& directory, double memcpy_bytes) {
  constexpr size_t kBytes = 16 << 20;
  std::string path = (directory / ".llmc-write-probe-XXXXXX").string();
  model::UniqueFd fd(directory.empty() ? -1 : ::mkstemp(path.data()));
  if (!fd) return memcpy_bytes;
  ::unlink(path.c_str());
  const std::vector<char> bytes(kBytes, 1);
  const auto start = Clock::now();
  const ssize_t written = ::pwrite(fd.get(), bytes.data(), kBytes, 0);
  const double seconds = seconds_since(start);
  return written == static_cast<ssize_t>(kBytes) ? kBytes / std::max(seconds, 1e-6) : memcpy_bytes;
}

// Bytes of `fd` (of `size` bytes) in the page cache, and the offset of its first uncached page, if any.
std::pair<uint64_t, std::optional<uint64_t>> cached_bytes(int fd, uint64_t size) {
  if (size == 0) return {0, std::nullopt};
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return {size, std::nullopt};
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> pages((size + page - 1) / page);
  uint64_t cached = size;
  std::optional<uint64_t> first_uncached;
  if (::mincore(map, size, pages.data()) == 0) {
    cached = 0;
    for (size_t i = 0; i < pages.size(); ++i) {
      if (pages[i] & 1) cached += std::min(page, size - i * page);
      else if (!first_uncached) first_uncached = i * page;
    }
  }
  ::munmap(map, size);
  return {cached, first_uncached};
}

// Seconds to read `bytes` at `offset` as the run's prefetch reads them (SafetensorsFile::prefetch).
double read_seconds_at(int fd, uint64_t offset, uint64_t bytes) {
  const auto start = Clock::now();
  (void)model::read_into_page_cache(fd, offset, bytes);
  return std::max(seconds_since(start), 1e-6);
}

// The page cache's share of the checkpoint (mincore), the disk's rate on up to 64 MB it does not hold (less
// reads slower: 16 MB gave 0.98-1.18 GB/s, 64 MB 1.39 GB/s, 256 MB 1.59 GB/s), and the cached rate on the same
// bytes read again (or on 64 MB of the largest file when the cache holds it all).
void probe_reads(const std::vector<std::filesystem::path>& files, MachineRates& rates) {
  constexpr uint64_t kProbeBytes = 64 << 20;
  struct Region {
    model::UniqueFd fd;
    uint64_t offset = 0, bytes = 0;
  };
  Region cold, cached;  // where reading hits the disk; the largest file otherwise
  for (const auto& path : files) {
    model::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) continue;
    std::error_code error;
    const uint64_t size = std::filesystem::file_size(path, error);
    if (error) continue;
    const auto [held, first_uncached] = cached_bytes(fd.get(), size);
    rates.file_bytes += size;
    rates.resident_file_bytes += held;
    if (first_uncached && !cold.fd) {
      cold = {std::move(fd), *first_uncached, std::min(kProbeBytes, size - *first_uncached)};
    } else if (size > cached.bytes) {
      cached = {std::move(fd), 0, std::min(kProbeBytes, size)};
    }
  }
  if (cold.fd) {
    rates.cold_read_bytes = static_cast<double>(cold.bytes) / read_seconds_at(cold.fd.get(), cold.offset, cold.bytes);
    rates.hot_read_bytes = static_cast<double>(cold.bytes) / read_seconds_at(cold.fd.get(), cold.offset, cold.bytes);
  } else if (cached.fd) {
    rates.hot_read_bytes = static_cast<double>(cached.bytes) / read_seconds_at(cached.fd.get(), 0, cached.bytes);
    rates.cold_read_bytes = rates.hot_read_bytes;
  }
  if (rates.hot_read_bytes == 0) rates.hot_read_bytes = rates.cold_read_bytes = rates.memcpy_bytes;
}

}  // namespace

MachineRates probe_machine(const ProbeWork& work) {
  const auto start = Clock::now();
  MachineRates rates;
  rates.threads = at::get_num_threads();
  for (const auto& [in, out] : work.linears)
    if (!rates.linear_flops.contains({in, out})) rates.linear_flops[{in, out}] = linear_rate(work, in, out);
  if (work.tokens > 0 && work.heads > 0) rates.attention_seconds = attention_seconds(work);
  if (work.hessian_columns > 0) {
    rates.fp32_flops = fp32_rate(work.hessian_columns, work.tokens);
    probe_factorization(work.hessian_columns, rates);
    rates.update_flops = update_rate(work.quantized ? work.quantized->weight.size(0) : work.hessian_columns);
    rates.op_seconds = op_seconds(work.hessian_columns);
  }
  if (work.quantized && work.quantized->scheme.scheme.weights) probe_quantization(*work.quantized, rates);
  rates.memcpy_bytes = memcpy_rate();
  rates.write_bytes = write_rate(work.write_directory, rates.memcpy_bytes);
  probe_reads(work.files, rates);
  rates.probe_seconds = seconds_since(start);
  return rates;
}

uint64_t resident_set_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (!line.starts_with("VmRSS:")) continue;
    std::istringstream fields(line.substr(6));
    uint64_t kilobytes = 0;
    fields >> kilobytes;
    return kilobytes * 1024;
  }
  return 0;
}

double process_age_seconds() {
  std::ifstream stat_file("/proc/self/stat"), uptime_file("/proc/uptime");
  std::string stat;
  std::getline(stat_file, stat);
  double uptime = 0;
  uptime_file >> uptime;
  // Field 22 (starttime, in clock ticks since boot) follows the parenthesized command name.
  const auto close = stat.rfind(')');
  if (close == std::string::npos || uptime == 0) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string skipped;
  for (int field = 3; field < 22; ++field) fields >> skipped;
  uint64_t start_ticks = 0;
  if (!(fields >> start_ticks)) return 0;
  return std::max(0.0, uptime - static_cast<double>(start_ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK)));
}

}  // namespace llmc::pipeline
