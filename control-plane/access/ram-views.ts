// The RAM entities as the API shows them, and the mapping from store rows to those views.
export interface RamUser {
  UserName: string;
  DisplayName: string;
  Comments: string;
  CreateDate: string;
}

export interface RamGroup {
  GroupName: string;
  Comments: string;
  CreateDate: string;
}

export interface RamPolicy {
  PolicyName: string;
  PolicyType: 'Custom';
  Description: string;
  CreateDate: string;
  UpdateDate: string;
  AttachmentCount: number;
  PolicyDocument?: string;
}

export const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function userView(r: {
  user_name: string;
  display_name: string;
  comments: string;
  created_at: number;
}): RamUser {
  return { UserName: r.user_name, DisplayName: r.display_name, Comments: r.comments, CreateDate: iso(r.created_at) };
}

export function groupView(r: { group_name: string; comments: string; created_at: number }): RamGroup {
  return { GroupName: r.group_name, Comments: r.comments, CreateDate: iso(r.created_at) };
}

export function policyView(
  r: { policy_name: string; description: string; document: string; created_at: number; updated_at: number },
  attachments: number,
  withDocument: boolean,
): RamPolicy {
  return {
    PolicyName: r.policy_name,
    PolicyType: 'Custom',
    Description: r.description,
    CreateDate: iso(r.created_at),
    UpdateDate: iso(r.updated_at),
    AttachmentCount: attachments,
    ...(withDocument ? { PolicyDocument: r.document } : {}),
  };
}
