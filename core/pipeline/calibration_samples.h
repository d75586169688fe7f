// core/pipeline/calibration_samples.h - the calibration token sequences of a run: a dataset file tokenized
// with the model's own tokenizer (and chat template, for chat records), as the reference's oneshot() does.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "data/calibration_set.h"
#include "util/expected.h"

namespace llmc::pipeline {

/// Reads `dataset` (.txt, .json, .jsonl) and builds the calibration set with `options`. The tokenizer
/// (tokenizer.json) and chat template of `model_dir` are loaded only when records need them.
Expected<std::vector<std::vector<int32_t>>> load_calibration_samples(const std::filesystem::path& model_dir,
                                                                    const std::filesystem::path& dataset,
                                                                    const data::CalibrationOptions& options);

}  // namespace llmc::pipeline
