// The relations and types a pgoutput stream has described so far. pgoutput sends a Relation message
// before the first change of a relation in a session (and again after its definition changes), then
// refers to it by id only; this cache turns those ids back into names and columns.

import type { RelationInfo } from './pgoutput-messages.js';
import { ReplicationError } from './replication-errors.js';

/** A type the stream described with a Type message (non-built-in types: enums, domains, composites). */
export interface TypeInfo {
  typeOid: number;
  namespace: string;
  name: string;
}

/** Relation id -> relation, type oid -> type, for one replication session. */
export class RelationCache {
  private readonly relations = new Map<number, RelationInfo>();
  private readonly types = new Map<number, TypeInfo>();

  /** Records (or replaces, after a schema change) a relation the server described. */
  setRelation(relation: RelationInfo): void {
    this.relations.set(relation.relationId, relation);
  }

  /** The relation of a change; a change for an undescribed relation is a protocol error. */
  relation(relationId: number): RelationInfo {
    const relation = this.relations.get(relationId);
    if (relation === undefined) {
      throw new ReplicationError(
        'protocol',
        `The replication stream sent a change for relation ${relationId} before describing it (no Relation message).`,
      );
    }
    return relation;
  }

  /** The relation with that id, if the stream described it. */
  findRelation(relationId: number): RelationInfo | undefined {
    return this.relations.get(relationId);
  }

  /** Records a type the server described. */
  setType(type: TypeInfo): void {
    this.types.set(type.typeOid, type);
  }

  /** The described type with that oid, if any (built-in types are never described). */
  findType(typeOid: number): TypeInfo | undefined {
    return this.types.get(typeOid);
  }
}
