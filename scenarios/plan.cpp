#include "scenarios/plan.h"

namespace attestlab::scenarios {

namespace {

void apply(const IdentityOverrides& o, sim::DeviceIdentity& id) {
  if (o.model) id.model = *o.model;
  if (o.product_name) id.product_name = *o.product_name;
  if (o.os_version) id.os_version = *o.os_version;
  if (o.build_version) id.build_version = *o.build_version;
  if (o.sepos_version) id.sepos_version = *o.sepos_version;
  if (o.llb_version) id.llb_version = *o.llb_version;
}

// FleetGenerator's documented default enterprise mix, in all_device_kinds() order.
std::vector<unsigned> fleet_weights(const FleetSpec& fleet) {
  std::vector<unsigned> w = fleet.weights;
  if (w.empty()) w = {40, 15, 25, 3, 1, 4, 6, 6};
  w.resize(sim::all_device_kinds().size(), 0);
  if (!fleet.include_legacy) {
    for (std::size_t i = 0; i < w.size(); ++i)
      if (!sim::kind_can_attest(sim::all_device_kinds()[i])) w[i] = 0;
  }
  return w;
}

}  // namespace

const PlannedDevice* ScenarioPlan::find(const std::string& id) const {
  for (const auto& d : devices)
    if (d.id == id) return &d;
  return nullptr;
}

std::vector<ScenarioPlan> plan_run(const std::vector<Scenario>& scenarios, std::uint64_t seed) {
  sim::FleetGenerator generator(seed);
  std::vector<ScenarioPlan> plans;
  plans.reserve(scenarios.size());
  for (const auto& sc : scenarios) {
    ScenarioPlan plan;
    plan.scenario = sc;
    for (const auto& spec : sc.devices) {
      PlannedDevice d;
      d.id = spec.id;
      d.kind = spec.kind;
      d.identity = generator.identity(spec.kind);
      apply(spec.identity, d.identity);
      d.inventory = spec.inventory;
      if (spec.inventory == InventoryMembership::PairMismatch) {
        d.listed_udid = generator.identity(spec.kind).udid;  // another (unique) device's UDID
      }
      plan.devices.push_back(std::move(d));
    }
    for (std::size_t i = 0; i < sc.steps.size(); ++i) {
      const Step& step = sc.steps[i];
      if (step.type != StepType::Fleet) continue;
      auto fleet =
          generator.fleet(static_cast<std::size_t>(step.fleet.count), fleet_weights(step.fleet));
      std::vector<PlannedDevice> devices;
      for (std::size_t n = 0; n < fleet.size(); ++n) {
        PlannedDevice d;
        d.id = "fleet-" + std::to_string(i + 1) + "-" + std::to_string(n + 1);
        d.kind = fleet[n].kind();
        d.identity = fleet[n].identity();
        devices.push_back(std::move(d));
      }
      plan.fleets[i] = std::move(devices);
    }
    plans.push_back(std::move(plan));
  }
  return plans;
}

const char* platform_of(sim::DeviceKind kind) {
  return sim::platform_name(kind);
}

Json inventory_json(const std::vector<ScenarioPlan>& plans) {
  Json out = Json::array();
  auto add = [&](const PlannedDevice& d) {
    Json entry{{"serial", d.identity.serial},
               {"udid", d.identity.udid},
               {"status", "active"},
               {"platform", platform_of(d.kind)}};
    switch (d.inventory) {
      case InventoryMembership::Active:
        break;
      case InventoryMembership::Retired:
        entry["status"] = "retired";
        break;
      case InventoryMembership::Unknown:
        return;
      case InventoryMembership::PairMismatch:
        entry["udid"] = d.listed_udid;
        break;
    }
    out.push_back(std::move(entry));
  };
  for (const auto& plan : plans) {
    for (const auto& d : plan.devices) add(d);
    for (const auto& [step, fleet] : plan.fleets)
      for (const auto& d : fleet) add(d);
  }
  return out;
}

Result<Json> merged_assumed_policy(const std::vector<Scenario>& scenarios) {
  Json merged = Json::object();
  std::map<std::string, std::string> origin;  // member (or member.key) → file that set it
  for (const auto& sc : scenarios) {
    for (auto it = sc.assumes_policy.begin(); it != sc.assumes_policy.end(); ++it) {
      const std::string& member = it.key();
      if (!member.empty() && member[0] == '_') continue;
      auto disagree = [&](const std::string& what) {
        return Error::make("malformed", "assumes_policy." + what + ": " + origin[what] + " and " +
                                            sc.source + " disagree");
      };
      if (it->is_object()) {
        if (merged.contains(member) && !merged[member].is_object()) return disagree(member);
        Json& target = merged[member];
        if (target.is_null()) target = Json::object();
        for (auto kv = it->begin(); kv != it->end(); ++kv) {
          const std::string what = member + "." + kv.key();
          if (target.contains(kv.key()) && target[kv.key()] != *kv) return disagree(what);
          target[kv.key()] = *kv;
          origin.emplace(what, sc.source);
        }
      } else {
        if (merged.contains(member) && merged[member] != *it) return disagree(member);
        merged[member] = *it;
        origin.emplace(member, sc.source);
      }
    }
  }
  return merged;
}

}  // namespace attestlab::scenarios
