// A token's capabilities as a readable table: one row per capability (per dataset or view), its actions.

import { grantsOf, type Scope, scopedGrantsOf, scopeName } from '../capabilities';
import type { DatasetCapabilitiesMap, OrgCapabilities, ViewCapabilitiesMap } from '../generated/types.gen';

interface Props {
  orgCapabilities: OrgCapabilities;
  datasetCapabilities: DatasetCapabilitiesMap;
  viewCapabilities: ViewCapabilitiesMap;
}

export function CapabilityTable({ orgCapabilities, datasetCapabilities, viewCapabilities }: Props) {
  const org = Object.entries(grantsOf(orgCapabilities));
  const scoped = (scope: Scope, map: DatasetCapabilitiesMap | ViewCapabilitiesMap) =>
    Object.entries(scopedGrantsOf(map)).flatMap(([name, grants]) =>
      Object.entries(grants).map(([capability, actions]) => ({
        name: scopeName(scope, name),
        capability,
        actions,
      })),
    );
  const datasets = scoped('datasetCapabilities', datasetCapabilities);
  const views = scoped('viewCapabilities', viewCapabilities);
  return (
    <>
      <h2>Organisation capabilities</h2>
      {org.length === 0 ? (
        <p>None.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Capability</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {org.map(([capability, actions]) => (
                <tr key={capability}>
                  <th scope="row">{capability}</th>
                  <td>{actions.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ScopedTable title="Dataset capabilities" column="Dataset" rows={datasets} />
      <ScopedTable title="View capabilities" column="View" rows={views} />
    </>
  );
}

function ScopedTable({
  title,
  column,
  rows,
}: {
  title: string;
  column: string;
  rows: { name: string; capability: string; actions: string[] }[];
}) {
  return (
    <>
      <h2>{title}</h2>
      {rows.length === 0 ? (
        <p>None.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">{column}</th>
                <th scope="col">Capability</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ name, capability, actions }) => (
                <tr key={`${name}/${capability}`}>
                  <th scope="row">{name}</th>
                  <td>{capability}</td>
                  <td>{actions.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
