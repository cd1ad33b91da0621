// Internal to the scenario parser (scenarios/scenario*.cpp), which is split by concern:
// the document and its devices (scenario.cpp), the steps (scenario_steps.cpp). Every
// function records its first error in `errors` (json_fields.h) and never throws.
#pragma once

#include <string>

#include "core/json.h"
#include "scenarios/json_fields.h"
#include "scenarios/scenario.h"

namespace attestlab::scenarios::detail {

// 1-64 characters of a-z, 0-9 and '-' (and '_' when allow_underscore).
bool is_name(const std::string& s, bool allow_underscore);

// The device descriptions that devices[] and update_device steps share.
void parse_identity(const Json& obj, const std::string& path, IdentityOverrides& id,
                    FieldErrors& errors);
void parse_posture(const Json& obj, const std::string& path, PostureOverrides& p,
                   FieldErrors& errors);
void parse_claims(const Json& obj, const std::string& path, sim::ClaimOverrides& c,
                  FieldErrors& errors);

// One element of steps[] at `path` ("steps[3]").
void parse_step(const Json& obj, const std::string& path, Step& s, FieldErrors& errors);
// Cross-references: devices named by steps exist, advance_clock's server flag is declared.
void check_references(const Scenario& sc, FieldErrors& errors);

}  // namespace attestlab::scenarios::detail
