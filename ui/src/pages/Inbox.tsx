// 消息 (/inbox): the caller's in-app messages (GET /inbox), newest first, unread ones
// highlighted; mark one read (POST /inbox/{id}/read) or all (POST /inbox-read-all).
import { useCallback, useEffect, useState } from 'react';
import { App, Button, Card, Empty, List, Segmented, Space, Tag, Typography } from 'antd';
import { CheckOutlined } from '@ant-design/icons';
import { api, enc } from '../api/client.ts';
import { useI18n } from '../i18n/index.tsx';
import { formatDateTime } from '../lib/definition.ts';
import { InlineError } from '../components/PageState.tsx';
import { INBOX_EVENT } from '../components/alerts/InboxBell.tsx';
import type { Inbox, InboxItem } from '../components/alerts/types.ts';

const severityColor: Record<string, string> = { critical: 'red', warning: 'orange', info: 'blue' };

export default function InboxPage() {
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const [data, setData] = useState<Inbox | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [filter, setFilter] = useState<'all' | 'unread'>('all');

  const load = useCallback(async () => {
    setError(null);
    try {
      setData(await api.get<Inbox>('inbox', { query: { unread: filter === 'unread' ? 'true' : undefined, limit: 100 } }));
    } catch (e) {
      setError(e);
    }
  }, [filter]);
  useEffect(() => {
    void load();
  }, [load]);

  const changed = () => {
    window.dispatchEvent(new Event(INBOX_EVENT));
    void load();
  };
  const markRead = async (it: InboxItem) => {
    await api.post(`inbox/${enc(it.id)}/read`);
    changed();
  };
  const markAll = async () => {
    const r = await api.post<{ count: number }>('inbox-read-all');
    message.success(`${t('inbox.markAll')} (${r.count})`);
    changed();
  };
  const text = (it: InboxItem) => it.texts?.[lang] ?? { title: it.title, body: it.body };

  return (
    <div>
      <div className="page-header">
        <div>
          <h1>{t('inbox.title')}</h1>
          <Typography.Text type="secondary">{t('inbox.subtitle')}</Typography.Text>
        </div>
        <Space>
          <Segmented
            value={filter}
            onChange={(v) => setFilter(v as 'all' | 'unread')}
            options={[
              { value: 'all', label: `${t('inbox.title')}` },
              { value: 'unread', label: `${t('inbox.unread')} ${data?.unread ?? ''}` },
            ]}
          />
          <Button icon={<CheckOutlined />} onClick={() => void markAll()} disabled={!data?.unread} data-testid="inbox-mark-all">
            {t('inbox.markAll')}
          </Button>
        </Space>
      </div>
      {error != null && <InlineError error={error} />}
      <Card>
        <List<InboxItem>
          loading={data === null && error == null}
          dataSource={data?.items ?? []}
          locale={{ emptyText: <Empty description={t('inbox.empty')} /> }}
          renderItem={(it) => {
            const tx = text(it);
            return (
              <List.Item
                data-testid="inbox-item"
                style={{ background: it.read ? undefined : '#f0f5ff', paddingInline: 12 }}
                actions={it.read ? [] : [<Button key="r" type="link" size="small" onClick={() => void markRead(it)} data-testid="inbox-read">{t('inbox.markRead')}</Button>]}
              >
                <List.Item.Meta
                  title={
                    <Space wrap>
                      <Tag color={severityColor[it.severity] ?? 'default'}>{t(`alerts.severity.${it.severity as 'info'}`) ?? it.severity}</Tag>
                      <Typography.Text strong={!it.read}>{tx.title}</Typography.Text>
                      <Typography.Text type="secondary" style={{ fontSize: 12 }}>{formatDateTime(it.createdAt)}</Typography.Text>
                    </Space>
                  }
                  description={
                    <div style={{ whiteSpace: 'pre-wrap', color: 'rgba(0,0,0,0.75)' }}>
                      {tx.body.replace(/\*\*(.+?)\*\*/g, '$1')}
                      {it.link && (
                        <div>
                          <a href={it.link} target="_blank" rel="noopener noreferrer">{it.link}</a>
                        </div>
                      )}
                    </div>
                  }
                />
              </List.Item>
            );
          }}
        />
      </Card>
    </div>
  );
}
