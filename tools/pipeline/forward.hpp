#pragma once
// Forward declarations of the types the pipeline steps take by reference, so a step's header
// names them without pulling in the layer that defines them (its .cpp includes that).
namespace cxxopts {
class ParseResult;
}  // namespace cxxopts
namespace sdkd {
class Tensor;
}  // namespace sdkd
namespace sdkd::data {
class SequenceDataset;
struct NSConfig;
}  // namespace sdkd::data
namespace sdkd::models {
class Forecaster;
}  // namespace sdkd::models
namespace sdkd::distill {
struct TeacherModel;  // distill/distiller.hpp
}  // namespace sdkd::distill
namespace sdkd::train {
class StudyProgress;  // train/study_progress.hpp
}  // namespace sdkd::train
namespace sdkd::tools {
struct TestSet;  // pipeline/windows.hpp
}  // namespace sdkd::tools
