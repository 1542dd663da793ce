import { Space, Tag } from 'antd';
import { useI18n } from '../i18n/index.tsx';
import type { ObjectStatus } from '../api/types.ts';

/**
 * ObjectStatusTags shows 草稿/已发布 and the published version of an object.
 * The working copy's revision (`version`, used for If-Match) is deliberately
 * not shown: it is a concurrency token, not a version people publish.
 */
export function ObjectStatusTags({ status, publishedVersion }: { status: ObjectStatus; version?: number; publishedVersion?: number | null }) {
  const { t } = useI18n();
  const pv = publishedVersion ?? 0;
  return (
    <Space size={4} wrap>
      {status === 'published' ? <Tag color="success">{t('objects.published')}</Tag> : <Tag color="warning">{t('objects.draft')}</Tag>}
      {status === 'draft' && pv > 0 && <Tag color="orange">{t('objects.unpublishedChanges')}</Tag>}
      {status === 'draft' && pv === 0 && <Tag>{t('objects.neverPublished')}</Tag>}
      {pv > 0 && <Tag bordered={false} color="blue">{t('editor.published', { version: pv })}</Tag>}
    </Space>
  );
}
