import { Space, Tag, Tooltip } from 'antd';
import { useI18n } from '../i18n/index.tsx';
import type { ObjectStatus } from '../api/types.ts';

/** ObjectStatusTags shows 草稿/已发布 and the versions of an object. */
export function ObjectStatusTags({ status, version, publishedVersion }: { status: ObjectStatus; version?: number; publishedVersion?: number | null }) {
  const { t } = useI18n();
  const pv = publishedVersion ?? 0;
  return (
    <Space size={4} wrap>
      {status === 'published' ? <Tag color="success">{t('objects.published')}</Tag> : <Tag color="warning">{t('objects.draft')}</Tag>}
      {status === 'draft' && pv > 0 && <Tag color="orange">{t('objects.unpublishedChanges')}</Tag>}
      {status === 'draft' && pv === 0 && <Tag>{t('objects.neverPublished')}</Tag>}
      {version !== undefined && (
        <Tooltip title={t('objects.version')}>
          <Tag bordered={false}>v{version}</Tag>
        </Tooltip>
      )}
      {pv > 0 && <Tag bordered={false} color="blue">{t('editor.published', { version: pv })}</Tag>}
    </Space>
  );
}
