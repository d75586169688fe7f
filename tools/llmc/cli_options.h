// tools/llmc/cli_options.h - shared Boost.Program_options plumbing for the subcommands.
#pragma once

#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace llmc::cli {

/// Parses `args` against `options`; on --help prints `usage` + the options and returns 0 through
/// `exit_code`; on a bad command line prints the problem and returns 2. Returns true to go on.
inline bool parse_command_line(const std::vector<std::string>& args, const char* usage,
                               const boost::program_options::options_description& options,
                               boost::program_options::variables_map& vars, int& exit_code) {
  namespace po = boost::program_options;
  try {
    po::store(po::command_line_parser(args).options(options).run(), vars);
    if (vars.count("help")) {
      std::printf("%s\n", usage);
      options.print(std::cout);
      exit_code = 0;
      return false;
    }
    po::notify(vars);
  } catch (const po::error& e) {
    std::fprintf(stderr, "llmc: %s\n\n%s\n", e.what(), usage);
    std::cerr << options;
    exit_code = 2;
    return false;
  }
  return true;
}

}  // namespace llmc::cli
