import { useNavigate } from 'react-router';
import { Alert, Button, Card, Col, Empty, Row, Space, Typography } from 'antd';
import { PlusOutlined, RightOutlined } from '@ant-design/icons';
import { useAuth } from '../auth.tsx';
import { loc, useI18n } from '../i18n/index.tsx';
import { isPublished, useObjects } from '../objects.tsx';
import { objectIcon } from '../components/objectIcon.tsx';
import { problemText } from '../lib/problem.ts';

export default function HomePage() {
  const { t, lang } = useI18n();
  const { me, isAdmin } = useAuth();
  const { objects, error } = useObjects();
  const navigate = useNavigate();
  const data = objects.filter(isPublished);

  return (
    <div>
      <div className="page-header">
        <div>
          <h1>{t('home.greeting', { name: me?.displayName || me?.username || '' })}</h1>
          <Typography.Text type="secondary">{t('home.subtitle')}</Typography.Text>
        </div>
      </div>
      {error != null && <Alert type="error" showIcon title={problemText(error, t)} style={{ marginBottom: 16 }} />}
      <Typography.Title level={5} style={{ marginTop: 8 }}>
        {t('home.objects')}
      </Typography.Title>
      {data.length === 0 ? (
        <Card>
          <Empty description={isAdmin ? `${t('home.empty')}${t('home.emptyAdmin')}` : t('home.empty')}>
            {isAdmin && (
              <Button type="primary" onClick={() => navigate('/admin/objects')}>
                {t('home.goAdmin')}
              </Button>
            )}
          </Empty>
        </Card>
      ) : (
        <Row gutter={[16, 16]}>
          {data.map((o) => {
            const label = loc(o.label, lang) ?? o.key;
            return (
              <Col key={o.key} xs={24} sm={12} lg={8} xl={6}>
                <Card hoverable onClick={() => navigate(`/records/${encodeURIComponent(o.key)}`)}>
                  <Space align="start" size={14} style={{ width: '100%' }}>
                    <div style={{ fontSize: 22, color: '#2f54eb', background: '#f0f5ff', borderRadius: 10, width: 44, height: 44, display: 'grid', placeItems: 'center' }}>{objectIcon(o.key)}</div>
                    <div style={{ flex: 1 }}>
                      <Typography.Text strong style={{ fontSize: 16 }}>
                        {label}
                      </Typography.Text>
                      <div>
                        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                          {o.key}
                        </Typography.Text>
                      </div>
                    </div>
                  </Space>
                  <Space style={{ marginTop: 16 }}>
                    <Button
                      size="small"
                      type="primary"
                      ghost
                      icon={<PlusOutlined />}
                      onClick={(e) => {
                        e.stopPropagation();
                        navigate(`/records/${encodeURIComponent(o.key)}/new`);
                      }}
                    >
                      {t('common.new')}
                    </Button>
                    <Button size="small" type="text">
                      {t('home.open')} <RightOutlined />
                    </Button>
                  </Space>
                </Card>
              </Col>
            );
          })}
        </Row>
      )}
    </div>
  );
}
