// core/plugin/plugin_library.cpp
#include "plugin/plugin_library.h"

#include <boost/dll/shared_library.hpp>
#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <regex>

#include "plugin/host_api.h"

namespace llmc::plugin {
namespace {

// The descriptor fields every ABI 1.x plugin has (up to and including `destroy`).
constexpr size_t kMinDescriptorSize = offsetof(llmc_plugin_descriptor, destroy) + sizeof(void*);

bool has_elf_header(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, sizeof(magic));
  return in.gcount() == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
}

// Boost.DLL keeps only an errno-like code; the dynamic loader's own words name the missing symbol or library.
std::string loader_reason(const std::filesystem::path& path) {
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle) {
    ::dlclose(handle);
    return "the dynamic loader refused it once and accepted it on a second try";
  }
  const char* reason = ::dlerror();
  return reason ? reason : "unknown dynamic loader error";
}

std::string version_string(uint32_t major, uint32_t minor) { return fmt::format("{}.{}", major, minor); }

std::string host_abi() { return version_string(LLMC_ABI_MAJOR, LLMC_ABI_MINOR); }

Status check_descriptor(const llmc_plugin_descriptor& d, const std::string& file) {
  if (d.struct_size < kMinDescriptorSize)
    return Error{fmt::format("plugin {}: descriptor is {} bytes, smaller than any ABI {}.x descriptor ({} bytes)",
                             file, d.struct_size, LLMC_ABI_MAJOR, kMinDescriptorSize)};
  const std::string plugin_abi = version_string(d.abi_major, d.abi_minor);
  if (d.abi_major != LLMC_ABI_MAJOR)
    return Error{fmt::format("plugin {}: built for llmc plugin ABI {}, but this llmc speaks ABI {} "
                             "(the major versions differ); rebuild the plugin against this llmc's SDK",
                             file, plugin_abi, host_abi())};
  if (d.abi_minor > LLMC_ABI_MINOR)
    return Error{fmt::format("plugin {}: built for llmc plugin ABI {}, newer than this llmc's ABI {}; "
                             "upgrade llmc or rebuild the plugin against this SDK",
                             file, plugin_abi, host_abi())};
  if (d.name == nullptr || !std::regex_match(d.name, std::regex("[a-z0-9_]+")))
    return Error{fmt::format("plugin {}: descriptor name must be [a-z0-9_]+, got '{}'", file,
                             d.name ? d.name : "(null)")};
  if (d.version == nullptr) return Error{fmt::format("plugin {} ({}): descriptor has no version", file, d.name)};
  if (d.create == nullptr || d.destroy == nullptr)
    return Error{fmt::format("plugin {} ({}): descriptor lacks the required create/destroy callbacks", file, d.name)};
  if (d.torch_version != nullptr && std::string_view(d.torch_version) != host_torch_version())
    return Error{fmt::format("plugin {} ({}): linked against LibTorch {}, but this llmc uses LibTorch {}; "
                             "rebuild the plugin against the host's torch",
                             file, d.name, d.torch_version,
                             host_torch_version().empty() ? "(none)" : host_torch_version())};
  return Status::ok();
}

// Reads descriptor.options[] strided by the first item's struct_size (a plugin built against a newer
// minor may have a larger llmc_option_spec); fields it lacks stay zero.
Expected<std::vector<llmc_option_spec>> read_options(const llmc_plugin_descriptor& d, const std::string& file) {
  std::vector<llmc_option_spec> options;
  if (d.option_count == 0) return options;
  if (d.options == nullptr)
    return Error{fmt::format("plugin {} ({}): declares {} options but gives no option table", file, d.name,
                             d.option_count)};
  const size_t stride = d.options[0].struct_size;
  if (stride < offsetof(llmc_option_spec, default_value))
    return Error{fmt::format("plugin {} ({}): option specs are {} bytes, too small to hold a key and a type", file,
                             d.name, stride)};
  const auto* base = reinterpret_cast<const std::byte*>(d.options);
  for (size_t i = 0; i < d.option_count; ++i) {
    llmc_option_spec spec{};
    std::memcpy(&spec, base + i * stride, std::min(stride, sizeof(spec)));
    spec.struct_size = sizeof(spec);
    if (spec.key == nullptr || spec.type < LLMC_OPTION_BOOL || spec.type > LLMC_OPTION_FLOAT_LIST)
      return Error{fmt::format("plugin {} ({}): option #{} has no key or an unknown type", file, d.name, i)};
    options.push_back(spec);
  }
  return options;
}

}  // namespace

PluginLibrary::PluginLibrary(std::unique_ptr<boost::dll::shared_library> library,
                             const llmc_plugin_descriptor* descriptor, std::vector<llmc_option_spec> options,
                             std::filesystem::path path)
    : library_(std::move(library)), descriptor_(descriptor), options_(std::move(options)), path_(std::move(path)) {}

PluginLibrary::~PluginLibrary() = default;

Expected<std::shared_ptr<PluginLibrary>> PluginLibrary::load(const std::filesystem::path& path) {
  const std::string file = path.string();
  if (!std::filesystem::is_regular_file(path)) return Error{fmt::format("plugin {}: no such file", file)};
  if (!has_elf_header(path))
    return Error{fmt::format("plugin {}: is not a shared library (no ELF header); remove it from the plugin path",
                             file)};
  auto library = std::make_unique<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  library->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) return Error{fmt::format("plugin {}: cannot be loaded: {}", file, loader_reason(path))};
  if (!library->has(LLMC_PLUGIN_ENTRY_SYMBOL))
    return Error{fmt::format("plugin {}: is a shared library but exports no '{}' entry point "
                             "(was it built with LLMC_PLUGIN_DEFINE or llmc_add_plugin?)",
                             file, LLMC_PLUGIN_ENTRY_SYMBOL)};
  auto& entry = library->get<std::remove_pointer_t<llmc_plugin_entry_fn>>(LLMC_PLUGIN_ENTRY_SYMBOL);
  const llmc_plugin_descriptor* descriptor = nullptr;
  int32_t code = LLMC_ERROR_INTERNAL;
  try {
    code = entry(&host_api(), &descriptor);
  } catch (...) {
    return Error{fmt::format("plugin {}: its entry point threw a C++ exception across the C ABI", file)};
  }
  if (code == LLMC_ERROR_ABI_MISMATCH) {
    const std::string built_for = descriptor ? "ABI " + version_string(descriptor->abi_major, descriptor->abi_minor)
                                             : "an incompatible ABI";
    return Error{fmt::format("plugin {}: built for llmc plugin {}, refused this llmc's ABI {} "
                             "(same major and plugin minor <= host minor are required); rebuild it against "
                             "this llmc's SDK",
                             file, built_for, host_abi())};
  }
  if (code != LLMC_OK || descriptor == nullptr)
    return Error{fmt::format("plugin {}: entry point failed with status {}", file, code)};
  LLMC_TRY(check_descriptor(*descriptor, file));
  auto options = read_options(*descriptor, file);
  if (!options) return options.error();
  return std::shared_ptr<PluginLibrary>(new PluginLibrary(std::move(library), descriptor, std::move(*options), path));
}

std::string PluginLibrary::abi_version() const { return version_string(descriptor_->abi_major, descriptor_->abi_minor); }

std::string describe_capabilities(uint64_t capabilities) {
  static constexpr std::array<std::pair<uint64_t, const char*>, 5> kNames = {{
      {LLMC_CAP_QUANTIZES, "quantizes"},
      {LLMC_CAP_EDITS_WEIGHTS, "edits-weights"},
      {LLMC_CAP_NEEDS_OUTPUTS, "needs-outputs"},
      {LLMC_CAP_CONCURRENT_COMPRESS, "concurrent-compress"},
      {LLMC_CAP_CUDA, "cuda"},
  }};
  std::string out;
  for (const auto& [bit, label] : kNames) {
    if (!(capabilities & bit)) continue;
    if (!out.empty()) out += ",";
    out += label;
  }
  return out.empty() ? "-" : out;
}

}  // namespace llmc::plugin
