package store

import (
	"context"
	"encoding/json"
	"time"

	"gorm.io/gorm/clause"

	"github.com/flowd/flowd/engine"
)

type settingRow struct {
	Name      string `gorm:"primaryKey"`
	Value     string
	UpdatedAt time.Time
}

func (settingRow) TableName() string { return "settings" }

type fileRow struct {
	Name      string `gorm:"primaryKey"`
	Content   []byte
	Size      int64
	UpdatedAt time.Time
}

func (fileRow) TableName() string { return "files" }

// GetSetting returns a setting, or ENotFound.
func (s *Store) GetSetting(ctx context.Context, name string) (engine.Setting, error) {
	var r settingRow
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&r).Error; err != nil {
		return engine.Setting{}, notFound(err, "setting %q does not exist; create it with PUT /api/v1/settings/%s or system.setting(%q).save(value)", name, name, name)
	}
	return engine.Setting{Name: r.Name, Value: json.RawMessage(r.Value), UpdatedAt: r.UpdatedAt.UTC()}, nil
}

// SaveSetting creates or replaces a setting. It returns EInvalid for a name the API
// would refuse (engine.ValidName).
func (s *Store) SaveSetting(ctx context.Context, name string, value json.RawMessage) (engine.Setting, error) {
	if err := engine.ValidName("setting", name); err != nil {
		return engine.Setting{}, err // what the API could not name, it could not read or delete
	}
	r := settingRow{Name: name, Value: string(value), UpdatedAt: time.Now().UTC()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "name"}}, UpdateAll: true}).Create(&r).Error
	return engine.Setting{Name: name, Value: value, UpdatedAt: r.UpdatedAt}, err
}

// ListSettings returns all settings by name.
func (s *Store) ListSettings(ctx context.Context) ([]engine.Setting, error) {
	var rows []settingRow
	if err := s.db.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]engine.Setting, len(rows))
	for i, r := range rows {
		out[i] = engine.Setting{Name: r.Name, Value: json.RawMessage(r.Value), UpdatedAt: r.UpdatedAt.UTC()}
	}
	return out, nil
}

// DeleteSetting deletes a setting, or returns ENotFound.
func (s *Store) DeleteSetting(ctx context.Context, name string) error {
	res := s.db.WithContext(ctx).Where("name = ?", name).Delete(&settingRow{})
	if res.Error == nil && res.RowsAffected == 0 {
		return engine.Errorf(engine.ENotFound, "setting %q does not exist", name)
	}
	return res.Error
}

// GetFile returns a file with its content, or ENotFound.
func (s *Store) GetFile(ctx context.Context, name string) (engine.File, error) {
	var r fileRow
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&r).Error; err != nil {
		return engine.File{}, notFound(err, "file %q does not exist; upload it with PUT /api/v1/files/%s", name, name)
	}
	return engine.File{Name: r.Name, Size: r.Size, Content: r.Content, UpdatedAt: r.UpdatedAt.UTC()}, nil
}

// SaveFile creates or replaces a file. It returns EInvalid for a name the API would
// refuse (engine.ValidName) and for content over engine.MaxStoredFileBytes.
func (s *Store) SaveFile(ctx context.Context, name string, content []byte) (engine.File, error) {
	if err := engine.ValidName("file", name); err != nil {
		return engine.File{}, err // what the API could not name, it could not read or delete
	}
	if len(content) > engine.MaxStoredFileBytes {
		return engine.File{}, engine.Errorf(engine.EInvalid, "file %q is %d bytes; the limit is %d", name, len(content), engine.MaxStoredFileBytes)
	}
	if content == nil {
		content = []byte{}
	}
	r := fileRow{Name: name, Content: content, Size: int64(len(content)), UpdatedAt: time.Now().UTC()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "name"}}, UpdateAll: true}).Create(&r).Error
	return engine.File{Name: name, Size: r.Size, UpdatedAt: r.UpdatedAt}, err
}

// ListFiles returns all files by name, without their content.
func (s *Store) ListFiles(ctx context.Context) ([]engine.File, error) {
	var rows []fileRow
	if err := s.db.WithContext(ctx).Select("name", "size", "updated_at").Order("name").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]engine.File, len(rows))
	for i, r := range rows {
		out[i] = engine.File{Name: r.Name, Size: r.Size, UpdatedAt: r.UpdatedAt.UTC()}
	}
	return out, nil
}

// DeleteFile deletes a file, or returns ENotFound.
func (s *Store) DeleteFile(ctx context.Context, name string) error {
	res := s.db.WithContext(ctx).Where("name = ?", name).Delete(&fileRow{})
	if res.Error == nil && res.RowsAffected == 0 {
		return engine.Errorf(engine.ENotFound, "file %q does not exist", name)
	}
	return res.Error
}

var _ engine.StateStore = (*Store)(nil)
