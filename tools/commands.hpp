#pragma once
// The subcommands of the `sdkd` binary, one per tools/cmd_<name>.cpp, dispatched by main.cpp.
// A command parses its options (tools/options.hpp) and runs the shared steps of
// tools/pipeline/; no command calls code of another command.
namespace sdkd::tools {

int cmd_generate(int argc, char** argv);
int cmd_train(int argc, char** argv);
int cmd_distill(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_report(int argc, char** argv);
int cmd_info(int argc, char** argv);
int cmd_demo(int argc, char** argv);
int cmd_study(int argc, char** argv);
int cmd_data(int argc, char** argv);

}  // namespace sdkd::tools
