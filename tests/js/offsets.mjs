// Reads [{vtimezone, times: [[year, month, day, hour, minute], ...]}] as JSON on stdin and prints,
// for each, the UTC offsets in seconds that ical.js (Thunderbird, Nextcloud) gives those local times.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const zones = JSON.parse(readFileSync(0, "utf8"));
const offsets = zones.map(({ vtimezone, times }) => {
  const zone = new ICAL.Timezone(new ICAL.Component(ICAL.parse(vtimezone)));
  return times.map(([year, month, day, hour, minute]) =>
    ICAL.Time.fromData({ year, month, day, hour, minute, second: 0 }, zone).utcOffset());
});
process.stdout.write(JSON.stringify(offsets));
