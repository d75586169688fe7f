// tools/llmc/launcher/launcher.cpp - `llmc`: sets the OpenMP spin limit and glibc's huge-page tunable, then
// becomes llmc-core (beside it).
//
// LibTorch's OpenMP threads spin for a long time when they wait for work. When other processes share the
// cores, that spinning starves the thread doing the work: a data-free SmolLM2 run took 13.5 s instead of
// 0.9 s beside two busy processes on 2 cores, and 2.1 s with a short spin (GOMP_SPINCOUNT=10000), which
// costs nothing on an idle machine. libgomp reads its settings when it loads, before main(), so they must be
// in the environment before the process that links LibTorch starts; this launcher links nothing but libc++,
// so setting them costs no second load of LibTorch (0.2 s, measured when llmc re-executed itself instead).
//
// llmc-core hands tensor-sized buffers back to the system when freed (a low peak), so each new one is
// faulted in page by page. glibc.malloc.hugetlb=1 asks for transparent huge pages on those mappings (where
// the kernel's setting is "madvise", Debian's default): 512 times fewer faults. The data-free 1B w4a16 run
// went from 3.89 s to 3.36 s with the same peak. glibc reads its tunables at start-up too.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

int main(int, char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") == nullptr && std::getenv("GOMP_SPINCOUNT") == nullptr)
    setenv("GOMP_SPINCOUNT", "10000", 1);
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables == nullptr) {
    setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 1);
  } else if (std::strstr(tunables, "glibc.malloc.hugetlb") == nullptr) {  // the user's tunables, and ours
    setenv("GLIBC_TUNABLES", (std::string(tunables) + ":glibc.malloc.hugetlb=1").c_str(), 1);
  }
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto core = (ec ? std::filesystem::path(argv[0]) : self).parent_path() / "llmc-core";
  execv(core.c_str(), argv);  // argv[0] stays "llmc": messages and usage name the command the user ran
  std::fprintf(stderr, "llmc: cannot run %s: %s\n", core.c_str(), std::strerror(errno));
  return 127;
}
